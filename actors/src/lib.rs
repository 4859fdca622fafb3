//! healing-actors
