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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The numbers written in `text`: runs of digits with single spaces between them, without the
    /// spaces. A run right after `#` (a CSS colour) or a letter (an identifier) is not a number.
    fn numbers_in(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let starts = chars[i].is_ascii_digit()
                && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '#' || chars[i - 1] == '_'));
            if !starts {
                // Skip the rest of a run that did not start a number.
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                i += 1;
                continue;
            }
            let mut digits = String::new();
            while i < chars.len() {
                if chars[i].is_ascii_digit() {
                    digits.push(chars[i]);
                    i += 1;
                } else if chars[i] == ' ' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    i += 1;
                } else {
                    break;
                }
            }
            found.push(digits);
        }
        found
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { files(&path, out) } else { out.push(path) }
        }
    }

    /// Every number of every crisis catalogue in the repository (deployments and test fixtures),
    /// and the well-known crisis numbers of the countries they name.
    fn crisis_numbers() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut catalogues = Vec::new();
        files(&root.join("crisis"), &mut catalogues);
        files(&root.join("gateway/tests/data/crisis"), &mut catalogues);
        let mut numbers: Vec<String> =
            ["999", "112", "911", "111", "116 123", "116 111", "85258", "1800 247 247", "50808"]
                .map(String::from)
                .into();
        for file in catalogues.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
            for line in std::fs::read_to_string(file).unwrap().lines() {
                let key = line.split('=').next().unwrap_or("").trim();
                if ["phone", "other_phones", "sms"].contains(&key) {
                    numbers.extend(numbers_in(line.split_once('=').unwrap().1));
                }
            }
        }
        let numbers: Vec<String> = numbers.iter().map(|n| n.replace(' ', "")).collect();
        assert!(numbers.len() > 12, "catalogues not found: {numbers:?}");
        numbers
    }

    #[test]
    fn the_web_assets_hard_code_no_crisis_number() {
        let known = crisis_numbers();
        let mut assets = Vec::new();
        files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("static"), &mut assets);
        assert!(assets.len() > 10, "{assets:?}");
        for asset in assets {
            let text = std::fs::read_to_string(&asset).unwrap();
            for n in numbers_in(&text) {
                assert!(
                    !known.contains(&n),
                    "{} hard-codes the crisis number {n}: the page must take it from GET /api/v1/crisis",
                    asset.display()
                );
            }
        }
    }

    #[test]
    fn the_scan_finds_numbers_and_not_colours() {
        assert_eq!(numbers_in("call 116 123 or 999; color: #999; h111 x_112"), ["116123", "999"]);
        assert!(crisis_numbers().contains(&"85258".to_owned()));
    }
}
