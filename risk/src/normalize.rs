//! Text normalisation: lowercase, straight quotes, emoji and algospeak mapped to plain words,
//! common misspellings repaired — while keeping a byte map back to the original text so that
//! evidence is quoted in the patient's own words.

use regex::Regex;
use std::sync::LazyLock;

/// Normalised text plus a byte map into the original.
#[derive(Debug, Clone)]
pub struct Normalized<'a> {
    /// The original text.
    pub original: &'a str,
    /// Lowercased, mapped text that the lexicon is matched against.
    pub text: String,
    /// For each byte of `text`, the start of the original char it came from.
    start: Vec<u32>,
    /// For each byte of `text`, the end of the original span it came from.
    end: Vec<u32>,
}

impl Normalized<'_> {
    /// The original text behind the normalised byte range `s..e`.
    pub fn original_span(&self, s: usize, e: usize) -> &str {
        if s >= e || e > self.text.len() {
            return "";
        }
        let (a, b) = (self.start[s] as usize, self.end[e - 1] as usize);
        self.original.get(a..b).unwrap_or("")
    }
}

/// Emoji that stand for death, means or laughter.
fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{1FAA6}' => " grave-emoji ",
        '\u{26B0}' => " coffin-emoji ",
        '\u{1F52A}' | '\u{1F5E1}' => " knife-emoji ",
        '\u{1F48A}' => " pills-emoji ",
        '\u{1F52B}' => " gun-emoji ",
        '\u{1FA78}' => " blood-emoji ",
        '\u{1FAA2}' => " rope-emoji ",
        '\u{1F309}' => " bridge-emoji ",
        '\u{1F682}' | '\u{1F686}' | '\u{1F684}' | '\u{1F685}' | '\u{1F68A}' => " train-emoji ",
        '\u{2620}' | '\u{1F480}' => " skull-emoji ",
        '\u{1F602}' | '\u{1F923}' | '\u{1F606}' | '\u{1F605}' => " lol ",
        '\u{1F44B}' => " bye-emoji ",
        '\u{1F51A}' => " end-emoji ",
        _ => return None,
    })
}

/// Algospeak and misspellings → canonical words. Each pattern is matched as a whole word.
const ALGOSPEAK: &[(&str, &str)] = &[
    (r"un-?alive(?:s)?", "kill"),
    (r"un-?alived", "killed"),
    (r"un-?aliving", "killing"),
    (r"kms|ctb", "kill myself"),
    (r"kys", "kill yourself"),
    (
        r"sewer ?slides?|s[u\*]{1,2}[i1\*]c[i1\*]de|s\*+cide|su[i1\*]c[i1\*]de|suicid|suiside|sucide|suicde|sucicide|suiscide|suacide|suicie|suicede|suicidee|sucuide|siucide|suicied",
        "suicide",
    ),
    (
        r"s[u\*]{1,2}[i1\*]c[i1\*]dal|suicidel|suicidle|sucicdal|suicdal|sucidal|suiciadal|suciald|suicidial|suisidal|suicial|suicadal|sucicidal|suicidall|sewerslidal",
        "suicidal",
    ),
    (r"sl[\*1!]t", "slit"),
    (r"k[\*!1]+l{1,2}|kil|kll", "kill"),
    (r"k[\*!1]+l{0,2}ing|kiling|killin|klling", "killing"),
    (r"k[\*!1]+l{0,2}ed|kiled", "killed"),
    (r"my ?sel[fv]|myslef|mysef|mysefl|myselfe|meself|mysellf", "myself"),
    (r"d[\*!1]e", "die"),
    (r"d[\*!1]ed", "died"),
    (r"o\.?d\.?|o\.d", "overdose"),
    (r"od'?d|od'?ed|o\.d\.'?d", "overdosed"),
    (r"od'?ing", "overdosing"),
    (r"self[- ]?h[\*a]rm|selfharm|s/h", "self-harm"),
    (r"self[- ]?h[\*a]rm(?:ed)", "self-harmed"),
    (r"self[- ]?h[\*a]rming", "self-harming"),
    (r"paracetemol|paracetomol|paracetamols|paracetmol|parcetamol", "paracetamol"),
    (r"rn", "right now"),
    (r"tn|2nite|tonite", "tonight"),
    (r"tmr|tmrw|tmrow|2moro", "tomorrow"),
    (r"ab", "about"),
    (r"wrsits|wirst|wirsts|wrist's|wr[\*i]sts?", "wrists"),
];

struct Algospeak {
    any: Regex,
    each: Vec<(Regex, &'static str)>,
}

#[allow(clippy::expect_used, reason = "patterns are compile-time constants, covered by tests")]
static ALGO: LazyLock<Algospeak> = LazyLock::new(|| {
    let alts: Vec<String> = ALGOSPEAK.iter().map(|(p, _)| format!("(?:{p})")).collect();
    // Word-ish boundaries that also work next to `*`, `!`, `.`, `/`.
    let any = format!(r"(?:^|[^\w\*!/\.'])((?:{}))(?:$|[^\w\*!'])", alts.join("|"));
    Algospeak {
        any: Regex::new(&any).expect("constant algospeak regex"),
        each: ALGOSPEAK
            .iter()
            .map(|(p, r)| (Regex::new(&format!("^(?:{p})$")).expect("constant algospeak regex"), *r))
            .collect(),
    }
});

/// Normalises `original` for matching.
pub fn normalize(original: &str) -> Normalized<'_> {
    let mut text = String::with_capacity(original.len() + 8);
    let mut start = Vec::with_capacity(original.len() + 8);
    let mut end = Vec::with_capacity(original.len() + 8);
    let mut push = |text: &mut String, s: &str, a: usize, b: usize| {
        text.push_str(s);
        for _ in 0..s.len() {
            start.push(a as u32);
            end.push(b as u32);
        }
    };
    let mut buf = [0u8; 4];
    for (i, c) in original.char_indices() {
        let j = i + c.len_utf8();
        if let Some(w) = emoji_word(c) {
            push(&mut text, w, i, j);
            continue;
        }
        match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '\u{00B4}' => push(&mut text, "'", i, j),
            '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => push(&mut text, "\"", i, j),
            '\u{2013}' | '\u{2014}' => push(&mut text, "-", i, j),
            '\u{FE0F}' | '\u{200D}' | '\u{FE0E}' => {}
            '\t' | '\r' | '\u{00A0}' => push(&mut text, " ", i, j),
            c if c.is_ascii() => push(&mut text, c.to_ascii_lowercase().encode_utf8(&mut buf), i, j),
            c => {
                for l in c.to_lowercase() {
                    push(&mut text, l.encode_utf8(&mut buf), i, j);
                }
            }
        }
    }
    let n = Normalized { original, text, start, end };
    apply_algospeak(n)
}

fn apply_algospeak(n: Normalized<'_>) -> Normalized<'_> {
    let algo = &*ALGO;
    if !algo.any.is_match(&n.text) {
        return n;
    }
    let mut out = String::with_capacity(n.text.len() + 16);
    let mut start = Vec::with_capacity(n.start.len() + 16);
    let mut end = Vec::with_capacity(n.end.len() + 16);
    let mut last = 0;
    let mut pos = 0;
    while let Some(caps) = algo.any.captures_at(&n.text, pos) {
        let Some(m) = caps.get(1) else { break };
        let word = m.as_str();
        let repl = algo.each.iter().find(|(re, _)| re.is_match(word)).map(|(_, r)| *r);
        if let Some(r) = repl {
            out.push_str(&n.text[last..m.start()]);
            start.extend_from_slice(&n.start[last..m.start()]);
            end.extend_from_slice(&n.end[last..m.start()]);
            let (a, b) = (n.start[m.start()], n.end[m.end() - 1]);
            out.push_str(r);
            start.extend(std::iter::repeat_n(a, r.len()));
            end.extend(std::iter::repeat_n(b, r.len()));
            last = m.end();
        }
        // Continue right after the word so that adjacent words can match too.
        pos = m.end().max(pos + 1);
        if pos >= n.text.len() {
            break;
        }
    }
    out.push_str(&n.text[last..]);
    start.extend_from_slice(&n.start[last..]);
    end.extend_from_slice(&n.end[last..]);
    Normalized { original: n.original, text: out, start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algospeak_and_misspellings() {
        for (input, want) in [
            ("I want to unalive myself", "i want to kill myself"),
            ("kms tonight", "kill myself tonight"),
            ("thinking about sewerslide", "thinking about suicide"),
            ("s*icide", "suicide"),
            ("feeling suicidel", "feeling suicidal"),
            ("I will kil my self", "i will kill myself"),
            ("I want to k*ll myself", "i want to kill myself"),
            ("I OD'd last night", "i overdosed last night"),
        ] {
            assert_eq!(normalize(input).text, want, "{input}");
        }
    }

    #[test]
    fn emoji_and_quotes() {
        let n = normalize("I\u{2019}m done \u{1FAA6}\u{1F48A}");
        assert_eq!(n.text, "i'm done  grave-emoji  pills-emoji ");
    }

    #[test]
    fn maps_back_to_original() {
        let n = normalize("Honestly KMS tonight");
        let s = n.text.find("kill myself").unwrap_or(0);
        assert_eq!(n.original_span(s, s + "kill myself".len()), "KMS");
        assert_eq!(n.original_span(0, 8), "Honestly");
    }
}
