//! The web front end's static assets, embedded in the binary so `cargo run` needs nothing else.
//!
//! Invariant: no inline scripts or styles and no third-party hosts — the gateway serves these
//! under a strict Content-Security-Policy.

/// One embedded file.
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $mime:literal),* $(,)?) => {
        /// The asset at `path` (relative, no leading slash), if any.
        pub fn asset(path: &str) -> Option<Asset> {
            match path {
                $($path => Some(Asset { content_type: $mime, body: include_bytes!(concat!("../static/", $path)) }),)*
                _ => None,
            }
        }
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "js/admin.js" => "text/javascript; charset=utf-8",
    "js/api.js" => "text/javascript; charset=utf-8",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/clinician.js" => "text/javascript; charset=utf-8",
    "js/crisis.js" => "text/javascript; charset=utf-8",
    "js/dom.js" => "text/javascript; charset=utf-8",
    "js/explain.js" => "text/javascript; charset=utf-8",
    "js/format.js" => "text/javascript; charset=utf-8",
    "js/messages.js" => "text/javascript; charset=utf-8",
    "js/outbox.js" => "text/javascript; charset=utf-8",
    "js/patient.js" => "text/javascript; charset=utf-8",
    "js/quickexit.js" => "text/javascript; charset=utf-8",
    "js/session.js" => "text/javascript; charset=utf-8",
    "js/signin.js" => "text/javascript; charset=utf-8",
    "js/socket.js" => "text/javascript; charset=utf-8",
    "js/supervisor.js" => "text/javascript; charset=utf-8",
    "js/theme.js" => "text/javascript; charset=utf-8",
}
