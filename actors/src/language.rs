//! Screening coverage (issue 14, item 6): the risk engine reads English only. A patient message
//! that is confidently in another language, and that the engine therefore grades `none`, must not
//! pass as "no risk": it becomes a low-priority review item for the care team — a `low` alert
//! whose reason names the language, in the clinicians' existing alert list (no new client work).
//!
//! Short or ambiguous text is left alone: language identification on a few words is unreliable,
//! and a review item for every "ok" or "dzięki" would bury real alerts. The thresholds below are
//! the documented limit (docs/clinical-safety.md, hazard H-lang).

use whatlang::Lang;

/// Fewest letters a message needs before its language is judged.
pub const MIN_LETTERS: usize = 20;
/// Fewest words a message needs before its language is judged.
pub const MIN_WORDS: usize = 4;
/// Lowest whatlang confidence (0..1) taken as "confidently not English".
pub const MIN_CONFIDENCE: f64 = 0.8;

/// The review reason for a message the engine could not read, e.g.
/// `language not screened: Polish`; `None` for English, or text too short or ambiguous to tell.
pub fn unscreened_language(text: &str) -> Option<String> {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let words = text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    // Scripts without spaces between words (Chinese, Japanese, Thai) are judged on letters alone.
    if letters < MIN_LETTERS || (words < MIN_WORDS && letters < MIN_LETTERS * 2) {
        return None;
    }
    let info = whatlang::detect(text)?;
    if info.lang() == Lang::Eng || !info.is_reliable() || info.confidence() < MIN_CONFIDENCE {
        return None;
    }
    Some(format!("language not screened: {}", info.lang().eng_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_urdu_and_romanian_are_named_english_is_not() {
        let pl = unscreened_language("Nie mogę już tego znieść, nikt mnie nie rozumie i nie wiem co dalej robić");
        assert_eq!(pl.as_deref(), Some("language not screened: Polish"));
        let ur = unscreened_language("میں بہت تھکا ہوا ہوں اور مجھے نہیں معلوم کہ اب کیا کروں");
        assert_eq!(ur.as_deref(), Some("language not screened: Urdu"));
        let ro = unscreened_language("Nu mai pot suporta asta, nimeni nu mă înțelege și nu știu ce să fac");
        assert_eq!(ro.as_deref(), Some("language not screened: Romanian"));
        for english in [
            "I had a really long day at work and I just want to talk about it for a bit",
            "tell me something calming please, I cannot sleep tonight at all",
        ] {
            assert_eq!(unscreened_language(english), None, "{english}");
        }
    }

    #[test]
    fn short_text_is_never_judged() {
        for short in ["dzięki", "ok", "tak, dobrze", "Dzień dobry", "merci beaucoup"] {
            assert_eq!(unscreened_language(short), None, "{short}");
        }
    }
}
