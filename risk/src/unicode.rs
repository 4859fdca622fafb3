//! Folding of obfuscated text before anything reads it: zero-width and other invisible
//! characters removed, NFKC (fullwidth and styled letters become plain ones), combining marks
//! stripped, letters that merely look Latin (Cyrillic `е`, Greek `ο` …) mapped to the Latin letter
//! they are confusable with (the Unicode UTS #39 skeleton, per character), digits and symbols used
//! as letters inside words (`k1ll`, `$uicide`) read as letters, and spelled-out letters
//! (`s.u.i.c.i.d.e`, `k i l l`) joined.
//!
//! Plain ASCII text without digits or symbols inside words comes back unchanged (borrowed), so
//! evidence quoted from ordinary messages stays byte-identical to what the patient wrote.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_security::confusable_detection::skeleton;

/// Invisible characters that hide words from pattern matching.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'
            ..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{FE00}'..='\u{FE0E}' | '\u{FEFF}'
    )
}

/// A letter-like stand-in inside a word.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        _ => return None,
    })
}

/// The folded text (see the module docs).
pub fn fold(text: &str) -> Cow<'_, str> {
    let needs = !text.is_ascii() || has_leet(text) || has_spelled_out(text);
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut s: String = text.chars().filter(|&c| !invisible(c)).collect::<String>().nfkc().collect();
    if !s.is_ascii() {
        s = s
            .nfd()
            .filter(|&c| !is_combining_mark(c))
            .map(|c| {
                if c.is_ascii() || !c.is_alphabetic() {
                    return c.to_string();
                }
                let sk: String = skeleton(&c.to_string()).collect();
                if sk.chars().count() == 1 && sk.is_ascii() && sk.chars().all(|x| x.is_ascii_alphabetic()) {
                    sk
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .nfc()
            .collect();
    }
    Cow::Owned(join_spelled_out(&unleet(&s)))
}

/// A word that mixes letters with digits or symbols standing in for letters.
fn has_leet(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace()).any(is_leet_word)
}

fn is_leet_word(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2 && w.chars().any(|c| leet(c).is_some()) && !w.chars().any(|c| c.is_ascii_digit() && letters < 2)
        // ordinals, times and sizes ("2nd", "10pm", "5mg", "3am") are not leet
        && !w.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn unleet(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_inclusive(|c: char| c.is_whitespace()) {
        let core = w.trim_end();
        if is_leet_word(core) {
            let trimmed_start = core.len() - core.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
            let (lead, rest) = core.split_at(trimmed_start);
            let body_end = rest.trim_end_matches(|c: char| !c.is_alphanumeric() && leet(c).is_none()).len();
            let (body, tail) = rest.split_at(body_end);
            out.push_str(lead);
            out.extend(body.chars().map(|c| leet(c).unwrap_or(c)));
            out.push_str(tail);
            out.push_str(&w[core.len()..]);
        } else {
            out.push_str(w);
        }
    }
    out
}

/// Four or more single letters in a row separated by `.`, `-`, `*`, `_` or one space.
fn has_spelled_out(text: &str) -> bool {
    spelled_runs(text).next().is_some()
}

fn spelled_runs(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let start = i;
            let at_word_start = start == 0 || !b[start - 1].is_ascii_alphanumeric();
            let mut j = i;
            let mut letters = 0;
            while at_word_start && j < b.len() && b[j].is_ascii_alphabetic() {
                letters += 1;
                let next = j + 1;
                if next + 1 < b.len()
                    && matches!(b[next], b'.' | b'-' | b'*' | b'_' | b' ')
                    && b[next + 1].is_ascii_alphabetic()
                    && (next + 2 >= b.len() || !b[next + 2].is_ascii_alphanumeric())
                {
                    j = next + 1;
                } else {
                    j = next;
                    break;
                }
            }
            let ends_word = j >= b.len() || !b[j].is_ascii_alphanumeric();
            if letters >= 4 && ends_word {
                i = j;
                return Some((start, j));
            }
            i = start + 1;
        }
        None
    })
}

fn join_spelled_out(s: &str) -> String {
    let runs: Vec<(usize, usize)> = spelled_runs(s).collect();
    if runs.is_empty() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (a, e) in runs {
        out.push_str(&s[last..a]);
        out.extend(s[a..e].chars().filter(|c| c.is_ascii_alphabetic()));
        last = e;
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn obfuscations_fold_to_plain_words() {
        assert_eq!(fold("I want to ｋｉｌｌ myself"), "I want to kill myself");
        assert_eq!(fold("k\u{200B}ill my\u{200D}self"), "kill myself");
        assert_eq!(fold("\u{0455}u\u{0456}c\u{0456}d\u{0435} \u{0440}lan"), "suicide plan");
        assert_eq!(fold("thinking about s.u.i.c.i.d.e"), "thinking about suicide");
        assert_eq!(fold("gonna k1ll my5elf"), "gonna kill myself");
        assert_eq!(fold("su\u{0301}i\u{0308}cide"), "suicide");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for t in ["see you at 10pm", "took 2 paracetamol for my 3rd headache", "I am a bit tired", "café later?"] {
            let f = fold(t);
            assert!(f == t || t == "café later?" && f == "cafe later?", "{t} -> {f}");
        }
    }
}
