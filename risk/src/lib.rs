//! healing-risk
