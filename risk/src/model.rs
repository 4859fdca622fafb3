//! A small, transparent linear model that can only *raise* the rules' level.
//!
//! Two logistic-regression heads (any risk; high risk) over binary word unigram and bigram
//! features, trained offline on the dev posts by `risk/train/train_model.py` and exported to
//! `model_weights.rs` (generated). The model is gated so that it never runs on short chat
//! messages (idioms, negations, banter): only texts with at least [`MIN_WORDS`] word tokens that
//! contain a word about life, death or despair ([`GATE_WORDS`]), and only when the positive evidence of the present features reaches [`MIN_EVIDENCE`].
//!
//! The tokenizer must stay identical to `tokens()` in the training script: ASCII letters
//! lowercased, a run of digits becomes `0`, apostrophes (`'` and `’`) are dropped, anything else
//! separates tokens.

use crate::level::Level;
use crate::model_weights::{
    BIAS_ANY, BIAS_HIGH, GATE_WORDS, HIGH_NEEDS, MIN_EVIDENCE, MIN_WORDS, T_ANY, T_HIGH, WEIGHTS,
};

/// The model's verdict: the level it supports and the top contributing features.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVerdict {
    /// `Low` or `High`.
    pub level: Level,
    /// Up to four content features that pushed the score up most, strongest first.
    pub features: Vec<&'static str>,
}

/// Function words that are shown as evidence only inside a bigram with a content word.
const STOPWORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "did", "do",
    "for", "from", "had", "has", "have", "he", "her", "him", "his", "i", "if", "im", "in", "is", "it", "its", "just",
    "me", "my", "myself", "no", "not", "of", "on", "or", "so", "that", "the", "them", "then", "there", "they", "this",
    "to", "was", "we", "what", "when", "with", "you", "your",
];

/// Word tokens of `text` (see the module docs for the exact rules).
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_digit = false;
    for ch in text.chars() {
        if ch.is_ascii_uppercase() {
            cur.push(ch.to_ascii_lowercase());
            prev_digit = false;
        } else if ch.is_ascii_lowercase() {
            cur.push(ch);
            prev_digit = false;
        } else if ch.is_ascii_digit() {
            if !prev_digit {
                cur.push('0');
            }
            prev_digit = true;
        } else if ch == '\'' || ch == '\u{2019}' {
            continue;
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_digit = false;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Negators that switch a gate word off ("I'm not suicidal", "never wanted to die").
const NEGATORS: &[&str] = &["didnt", "dont", "isnt", "never", "no", "not", "wasnt", "wont"];

/// Words after a negator that make it part of the distress meaning ("don't *care* anymore",
/// "not *worth* living", "no *point*", "never *ends*"): such a negator does not switch a gate word off.
const DISTRESS_NEXT: &[&str] = &[
    "care", "cares", "worth", "point", "longer", "hope", "future", "reason", "reasons", "way", "one", "matter",
    "matters", "deserve", "end", "ends",
];
const WANT: &[&str] = &["want", "wanna", "wish"];
/// "don't want to *live* / be *here* / be *alive* / *exist* / *wake* up" is a wish to be dead.
const WANT_OBJECTS: &[&str] = &["live", "living", "alive", "exist", "existing", "here", "around", "wake"];

/// Whether token `j` is a negator that really negates (same as `negates()` in the script).
fn negates(toks: &[String], j: usize) -> bool {
    if !NEGATORS.contains(&toks[j].as_str()) {
        return false;
    }
    let at = |k: usize| toks.get(k).map_or("", String::as_str);
    let next = at(j + 1);
    if DISTRESS_NEXT.contains(&next) {
        return false;
    }
    if WANT.contains(&next) && (j + 2..j + 5).any(|k| WANT_OBJECTS.contains(&at(k))) {
        return false;
    }
    !(next == "a" && matches!(at(j + 2), "life" | "future"))
}

/// A gate word not preceded by a (real) negator within three tokens (same as `gate()` in the script).
fn gate(toks: &[String]) -> bool {
    toks.iter().enumerate().any(|(i, w)| {
        GATE_WORDS.binary_search(&w.as_str()).is_ok() && !(i.saturating_sub(3)..i).any(|j| negates(toks, j))
    })
}

fn lookup(feature: &str) -> Option<usize> {
    WEIGHTS.binary_search_by(|(f, _, _)| f.as_bytes().cmp(feature.as_bytes())).ok()
}

/// Runs the model on `text`, whose rules-only level is `rules`; `None` when it is gated off or
/// does not fire. The high head only raises texts the rules grade at least [`HIGH_NEEDS`].
pub fn predict(text: &str, rules: Level) -> Option<ModelVerdict> {
    let toks = tokens(text);
    if toks.len() < MIN_WORDS || !gate(&toks) {
        return None;
    }
    let mut idx: Vec<usize> = toks.iter().filter_map(|t| lookup(t)).collect();
    let mut pair = String::new();
    for w in toks.windows(2) {
        pair.clear();
        pair.push_str(&w[0]);
        pair.push(' ');
        pair.push_str(&w[1]);
        if let Some(i) = lookup(&pair) {
            idx.push(i);
        }
    }
    idx.sort_unstable();
    idx.dedup();
    let (mut z_any, mut z_high, mut ev_any, mut ev_high) = (BIAS_ANY, BIAS_HIGH, 0.0, 0.0);
    for &i in &idx {
        let (_, wa, wh) = WEIGHTS[i];
        z_any += wa;
        z_high += wh;
        ev_any += wa.max(0.0);
        ev_high += wh.max(0.0);
    }
    let (level, head) = if z_high > T_HIGH && ev_high >= MIN_EVIDENCE && rules.rank() >= HIGH_NEEDS {
        (Level::High, 2)
    } else if z_any > T_ANY && ev_any >= MIN_EVIDENCE {
        (Level::Low, 1)
    } else {
        return None;
    };
    let mut contrib: Vec<(f64, &'static str)> = idx
        .iter()
        .map(|&i| {
            let (f, wa, wh) = WEIGHTS[i];
            (if head == 2 { wh } else { wa }, f)
        })
        .filter(|&(w, f)| w > 0.0 && !f.split(' ').all(|t| STOPWORDS.contains(&t)))
        .collect();
    contrib.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    Some(ModelVerdict { level, features: contrib.into_iter().take(4).map(|(_, f)| f).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_matches_training_script() {
        assert_eq!(tokens("I DON'T want 5000mg… it’s 12 o'clock"), ["i", "dont", "want", "0mg", "its", "0", "oclock"]);
    }

    #[test]
    fn weights_sorted_for_binary_search() {
        assert!(WEIGHTS.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
    }

    #[test]
    fn distress_negation_keeps_the_gate_open() {
        let g = |t: &str| gate(&tokens(t));
        assert!(g("I don't care anymore"));
        assert!(g("this isn't a life"));
        assert!(g("I don't want to live"));
        assert!(g("it is not worth living"));
        assert!(g("the pain will never end"));
        assert!(!g("I'm not suicidal"));
        assert!(!g("I don't want to die"));
        assert!(!g("I never wanted to die"));
    }

    #[test]
    fn short_texts_are_gated_off() {
        assert_eq!(predict("I just want to be at peace, I'm so tired", Level::None), None);
    }
}
