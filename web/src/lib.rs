//! healing-web
