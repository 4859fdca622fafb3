//! healing-space
