//! The assessment pipeline: normalise → one `RegexSet` pass over the lexicon → for each hit,
//! discard idioms, negations, quotes and other people's (non-imminent) risk → grade behaviour by
//! recency → take the highest C-SSRS level → apply conversation build-up.

use crate::context::{self, Current, Summary};
use crate::level::{Assessment, Level, Reason};
use crate::lexicon::{Kind, LEXICON, Person, compile};
use crate::negation::{idiom_spans, inside_quotes, is_habitual_past, is_negated, mentions_media};
use crate::normalize::{Normalized, normalize};
use crate::subject::{Subject, subject_of, third_party_imminent};
use crate::timing::{When, when};
use regex::Regex;
use std::sync::LazyLock;

const THIRD_PARTY: &str = "Third party: someone else in imminent danger";
const BEHAVIOUR_REMOTE: &str = "C-SSRS 6: suicidal behaviour more than 3 months ago";
const MAX_REASONS: usize = 8;
const MAX_EVIDENCE_CHARS: usize = 120;

/// One cue that survived the filters.
#[derive(Debug, Clone)]
struct Hit {
    kind: Kind,
    level: Level,
    item: &'static str,
    start: usize,
    end: usize,
    /// Intent phrased only as "do it"/"jump": needs corroboration.
    ambiguous: bool,
}

/// The analysis of a single message, without context.
struct Analysis<'a> {
    norm: Normalized<'a>,
    hits: Vec<Hit>,
    means: bool,
    veiled: Option<(usize, usize)>,
    method: bool,
    distress: bool,
}

impl Analysis<'_> {
    fn level(&self) -> Level {
        self.hits.iter().map(|h| h.level).max().unwrap_or(Level::None)
    }
}

static CLAUSE_WORDS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b(?:but|however|although|though|yet|except|whereas|otherwise)\b"));

static AMBIGUOUS: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:do(?:ing)?\s+it|go(?:ing)?\s+through\s+with\s+it|try\s+again|let\s+go|jump(?:ing)?|die|end(?:ing)?\s+it|commit(?:ting)?)\b|\b(?:decided|decision|choice|mind)\s*[.!]?$|\bmind\s+is\s+made\s+up\b|\blast\s+(?:post|message|night|day|week|weekend|birthday|christmas|goodbye)\s*[.!,]?$|\bbe\s+(?:here|around)\b|\bso\s+(?:that\s+)?i\s+(?:can|could|will|i'll)\b",
    )
});

static INNER_NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^[\w']+\s+(?:[\w']+\s+)?(?:not|never|won't|wont|wouldn't|wouldnt|don't|dont|didn't|didnt|no\s+longer)\b")
});

/// A cue that itself starts with "I …" ("… with my family so I can finally kill myself") is the
/// patient's, whatever noun came earlier in the clause.
static FIRST_PERSON_START: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(?:i|i'm|im|i've|ive|i'll|i'd|so\s+(?:that\s+)?i)\b"));

static RECOVERY: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:(?:i'm|i\s+am|im|doing|feeling|been)\s+(?:so\s+|much\s+|a\s+lot\s+)?(?:better|well|good)\s+(?:now|these\s+days|since)|not\s+suicidal\s+(?:anymore|now|any\s+longer)|(?:am|i'm)\s+not\s+suicidal|recovered|in\s+recovery)\b",
    )
});

static NOT_A_SUICIDE_PLAN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:safety|care|treatment|meal|business|phone|data|payment|study|lesson|action|recovery|crisis|workout|diet|savings|retirement|travel|birth|back-?up|game|new|better|good|different|health|insurance|family|exercise|escape|life)\s+plan\b|\bplan\s+b\b",
    )
});

static EXPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:myself|my\s+(?:own\s+)?life|suicide|overdos\w*|it\s+all)\b|\b(?:decided|mind|decision|choice)\s+(?:\w+\s+){0,4}?die\b",
    )
});

/// Sentence and clause boundaries of a normalised text, as sorted byte offsets.
struct Segments {
    sentence: Vec<usize>,
    clause: Vec<usize>,
}

impl Segments {
    fn new(text: &str) -> Segments {
        let mut sentence = vec![0];
        let mut clause = vec![0];
        for (i, b) in text.bytes().enumerate() {
            match b {
                b'.' | b'!' | b'?' | b'\n' => {
                    sentence.push(i + 1);
                    clause.push(i + 1);
                }
                // Two spaces: a post title run into its body.
                b' ' if i > 0 && text.as_bytes()[i - 1] == b' ' => {
                    sentence.push(i + 1);
                    clause.push(i + 1);
                }
                b',' | b';' | b':' | b'(' | b')' => clause.push(i + 1),
                _ => {}
            }
        }
        for m in CLAUSE_WORDS.find_iter(text) {
            clause.push(m.start());
        }
        clause.sort_unstable();
        Segments { sentence, clause }
    }

    /// Start of the segment containing `at` and end of the segment containing `end`.
    fn around(bounds: &[usize], at: usize, end: usize, len: usize) -> (usize, usize) {
        let i = bounds.partition_point(|&b| b <= at);
        let s = if i == 0 { 0 } else { bounds[i - 1] };
        let j = bounds.partition_point(|&b| b < end);
        let e = bounds.get(j).copied().unwrap_or(len);
        (s, e.max(end))
    }
}

/// Byte offset of the first word that starts after `at` (or `text.len()`).
fn next_word(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = at;
    while i < b.len() && word(b[i]) {
        i += 1;
    }
    while i < b.len() && !word(b[i]) {
        i += 1;
    }
    i.max(at + 1)
}

fn base_level(kind: Kind) -> Level {
    match kind {
        Kind::Wish | Kind::Ideation | Kind::SelfHarm => Level::Low,
        Kind::Method => Level::Moderate,
        Kind::Intent | Kind::Plan | Kind::Preparation | Kind::Behaviour | Kind::Acute | Kind::SelfHarmSevere => {
            Level::High
        }
        Kind::Means | Kind::Veiled | Kind::Distress => Level::None,
    }
}

fn analyse(text: &str) -> Analysis<'_> {
    let norm = normalize(text);
    let t = norm.text.as_str();
    let lex = &*LEXICON;
    let mut out =
        Analysis { hits: Vec::new(), means: false, veiled: None, method: false, distress: false, norm: normalize("") };
    let fired = lex.set.matches(t);
    if fired.matched_any() {
        let seg = Segments::new(t);
        let idioms = idiom_spans(t);
        for idx in fired.iter() {
            let cue = &lex.cues[idx];
            // A match that is dropped (idiom, negation, quote…) must not hide a later match that
            // overlaps it ("this shouldn't do anything. will 5000mg … do anything"): after a
            // drop the search restarts at the next word, after a kept match at its end.
            let mut pos = 0;
            while pos <= t.len() {
                let Some(m) = cue.re.find_at(t, pos) else {
                    break;
                };
                let (s, e) = (m.start(), m.end());
                pos = next_word(t, s);
                if idioms.iter().any(|&(a, b)| a < e && s < b) {
                    continue;
                }
                let (cs, _) = Segments::around(&seg.clause, s, e, t.len());
                let (ss, se) = Segments::around(&seg.sentence, s, e, t.len());
                let clause_prefix = &t[cs..s];
                if is_negated(clause_prefix) || (cue.kind == Kind::Intent && INNER_NEGATION.is_match(m.as_str())) {
                    continue;
                }
                if matches!(cue.kind, Kind::Wish | Kind::Ideation) && is_habitual_past(clause_prefix) {
                    continue;
                }
                let sentence = &t[ss..se];
                let media = mentions_media(sentence);
                if media && inside_quotes(sentence, s - ss) {
                    continue;
                }
                let subject = match cue.person {
                    Person::First => Subject::Patient,
                    Person::Third => Subject::Other,
                    Person::Any if FIRST_PERSON_START.is_match(m.as_str()) => Subject::Patient,
                    Person::Any => subject_of(clause_prefix, &t[ss..s]),
                };
                let mut kind = cue.kind;
                let mut item = kind.item();
                let mut level = base_level(kind);
                match subject {
                    // Generic "you" in a first-person post often means the writer ("when you've
                    // been feeling suicidal…"); over-triage ideation, drop anything stronger.
                    Subject::Generic if matches!(kind, Kind::Wish | Kind::Ideation | Kind::Method) => {}
                    Subject::Generic => continue,
                    Subject::Other => {
                        if matches!(kind, Kind::Means | Kind::Veiled | Kind::Distress)
                            || !third_party_imminent(t, media)
                        {
                            continue;
                        }
                        item = THIRD_PARTY;
                        level = Level::High;
                    }
                    Subject::Patient => {
                        if media && cue.person == Person::Any {
                            // "the film where she wants to die": a plot, not the patient.
                            continue;
                        }
                    }
                }
                if subject != Subject::Other {
                    match kind {
                        Kind::Means => {
                            out.means = true;
                            continue;
                        }
                        Kind::Veiled => {
                            out.veiled.get_or_insert((s, e));
                            continue;
                        }
                        Kind::Distress => {
                            out.distress = true;
                            continue;
                        }
                        Kind::Method => out.method = true,
                        Kind::Behaviour | Kind::SelfHarm | Kind::SelfHarmSevere => {
                            let (cs2, ce2) = Segments::around(&seg.clause, s, e, t.len());
                            let w = match when(&t[cs2..ce2]) {
                                When::Remote => When::Remote,
                                When::Recent => when(sentence),
                            };
                            if w == When::Remote {
                                match kind {
                                    Kind::Behaviour if RECOVERY.is_match(t) => continue,
                                    Kind::Behaviour => {
                                        level = Level::Moderate;
                                        item = BEHAVIOUR_REMOTE;
                                    }
                                    _ => continue,
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if kind == Kind::Plan && NOT_A_SUICIDE_PLAN.is_match(m.as_str()) {
                    continue;
                }
                let ambiguous =
                    kind == Kind::Intent && AMBIGUOUS.is_match(m.as_str()) && !EXPLICIT.is_match(m.as_str());
                if level == Level::None {
                    continue;
                }
                if subject == Subject::Other {
                    kind = Kind::Acute;
                }
                pos = pos.max(e);
                out.hits.push(Hit { kind, level, item, start: s, end: e, ambiguous });
            }
        }
    }
    // A behaviour cue ("tried to kill myself") subsumes the ideation cue inside it.
    let behaviour: Vec<(usize, usize)> =
        out.hits.iter().filter(|h| h.kind == Kind::Behaviour).map(|h| (h.start, h.end)).collect();
    out.hits.retain(|h| {
        !(matches!(h.kind, Kind::Wish | Kind::Ideation) && behaviour.iter().any(|&(a, b)| a <= h.start && h.end <= b))
    });
    out.norm = norm;
    out
}

/// Evidence: the sentence around the match in the patient's own words, at most 120 chars.
/// At most [`MAX_EVIDENCE_CHARS`] of a sentence.
#[cfg(feature = "semantic")]
fn trim_evidence(s: &str) -> String {
    s.chars().take(MAX_EVIDENCE_CHARS).collect()
}

fn evidence(norm: &Normalized<'_>, s: usize, e: usize) -> String {
    let t = norm.text.as_str();
    let seg_start = t[..s].rfind(['.', '!', '?', '\n']).map_or(0, |i| i + 1);
    let seg_end = t[e..].find(['.', '!', '?', '\n']).map_or(t.len(), |i| e + i + 1);
    let full = norm.original_span(seg_start, seg_end).trim();
    if full.chars().count() <= MAX_EVIDENCE_CHARS {
        return full.to_owned();
    }
    let core = norm.original_span(s, e).trim();
    let core_len = core.chars().count();
    if core_len >= MAX_EVIDENCE_CHARS {
        return core.chars().take(MAX_EVIDENCE_CHARS).collect();
    }
    // Centre the match in a window of the sentence.
    let Some(pos) = full.find(core) else {
        return core.to_owned();
    };
    let before: Vec<char> = full[..pos].chars().collect();
    let after: Vec<char> = full[pos + core.len()..].chars().collect();
    let room = MAX_EVIDENCE_CHARS - core_len;
    let take_before = before.len().min(room / 2).max(room.saturating_sub(after.len()));
    let take_before = take_before.min(before.len());
    let take_after = (room - take_before).min(after.len());
    let mut out: String = before[before.len() - take_before..].iter().collect();
    out.push_str(core);
    out.extend(&after[..take_after]);
    out.trim().to_owned()
}

fn score(level: Level, strength: usize) -> f32 {
    let base = f32::from(level.rank()) * 0.25;
    if level == Level::None {
        return 0.0;
    }
    let k = i32::try_from(strength.min(16)).unwrap_or(16);
    (base + 0.24 * (1.0 - 0.6f32.powi(k))).clamp(0.0, 1.0)
}

/// Loads the semantic detector now (it is otherwise loaded by the first [`assess`]); a node calls
/// this at start so that a damaged model stops it there. Without the `semantic` feature: `Ok`.
pub fn load() -> Result<(), String> {
    #[cfg(feature = "semantic")]
    crate::semantic::detector().map_err(str::to_string)?;
    Ok(())
}

/// Assesses one patient message, with that patient's earlier messages as `context`.
///
/// The text is folded first ([`crate::fold_for_model`]: invisible characters, lookalike letters,
/// fullwidth forms, leet), then graded by the rules and — with the `semantic` feature — by the
/// semantic detector; the level is the higher of the two (the model never lowers a level).
pub fn assess(text: &str, context: &[&str]) -> Assessment {
    assess_with(text, context, true)
}

/// The rules alone (with the conversation's context): microseconds, so a node can raise the
/// alert for what they find before the semantic detector has run. The final level of a message
/// is the higher of this and [`model_raise`]; [`assess`] is the two together.
pub fn assess_rules(text: &str, context: &[&str]) -> Assessment {
    assess_with(text, context, false)
}

/// What the semantic detector adds to a message graded `floor` by the rules: its level and
/// reason when that is higher, else `None`. The model reads the message alone (its own risk).
/// Without the `semantic` feature, or if the detector could not be loaded (a damaged build;
/// [`load`] stops a node for that), always `None`: the rules stand alone.
#[cfg_attr(not(feature = "semantic"), allow(unused_variables))]
pub fn model_raise(text: &str, floor: Level) -> Option<Raise> {
    model_raise_batch(&[(text, floor)]).pop().flatten()
}

/// [`model_raise`] of several messages in one pass of the encoder (cheaper per message).
#[cfg_attr(not(feature = "semantic"), allow(unused_variables))]
pub fn model_raise_batch(items: &[(&str, Level)]) -> Vec<Option<Raise>> {
    #[cfg(feature = "semantic")]
    if let Ok(det) = crate::semantic::detector() {
        // A message the rules grade high cannot be raised: skip its encoding.
        let todo: Vec<usize> = (0..items.len()).filter(|&i| items[i].1 < Level::High).collect();
        let folded: Vec<_> = todo.iter().map(|&i| crate::unicode::fold(items[i].0)).collect();
        let refs: Vec<&str> = folded.iter().map(AsRef::as_ref).collect();
        let mut out: Vec<Option<Raise>> = vec![None; items.len()];
        if let Ok(verdicts) = det.predict_batch(&refs) {
            for (&i, (v, emb)) in todo.iter().zip(verdicts) {
                let (text, floor) = items[i];
                if v.level > floor {
                    let (item, sentence) = det.reason(text, v.level, &emb);
                    out[i] =
                        Some(Raise { level: v.level, reason: Reason { item, evidence: trim_evidence(&sentence) } });
                }
            }
        }
        return out;
    }
    vec![None; items.len()]
}

/// A raise by the semantic detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub level: Level,
    /// The sentence that drove the grade and the C-SSRS item it resembles.
    pub reason: Reason,
}

/// [`assess`] with the semantic detector switched on or off (off: the rules alone).
fn assess_with(text: &str, context: &[&str], use_model: bool) -> Assessment {
    let folded = crate::unicode::fold(text);
    let mut a = analyse(&folded);
    let ctx: Vec<Summary> =
        context.iter().map(|c| Summary { level: Some(analyse(&crate::unicode::fold(c)).level()) }).collect();
    let ctx_risky = ctx.iter().any(|s| s.level.is_some_and(|l| l >= Level::Low));

    // Ambiguous intent ("I'm going to do it tonight") counts only when corroborated by another
    // cue in this message or by earlier disclosures; otherwise it is veiled intent.
    let corroborated =
        ctx_risky || a.means || a.distress || a.hits.iter().any(|h| !h.ambiguous && h.level >= Level::Low);
    if !corroborated {
        for h in a.hits.iter().filter(|h| h.ambiguous) {
            a.veiled.get_or_insert((h.start, h.end));
        }
        a.hits.retain(|h| !h.ambiguous);
    }

    let mut level = a.level();
    // Strongest first; stable so earlier matches come first within a level.
    a.hits.sort_by(|x, y| y.level.cmp(&x.level).then(x.start.cmp(&y.start)));
    let mut reasons: Vec<Reason> = Vec::new();
    let cur = Current { level, means: a.means, veiled: a.veiled.is_some(), method: a.method };
    if let Some(esc) = context::escalate(cur, &ctx) {
        level = esc.level;
        let ev = match a.veiled {
            Some((s, e)) if cur.veiled => evidence(&a.norm, s, e),
            _ => evidence(&a.norm, 0, a.norm.text.len()),
        };
        reasons.push(Reason { item: esc.item, evidence: ev });
    }
    // The trained model may only raise the level (`final = max(rules, model)`), never lower it.
    if use_model && let Some(raise) = model_raise(text, level) {
        level = raise.level;
        reasons.insert(0, raise.reason);
    }
    let strength = a.hits.iter().filter(|h| h.level == level).count() + reasons.len();
    for h in &a.hits {
        if reasons.len() >= MAX_REASONS {
            break;
        }
        let ev = evidence(&a.norm, h.start, h.end);
        if reasons.iter().any(|r| r.item == h.item && r.evidence == ev) {
            continue;
        }
        let _ = h.kind;
        reasons.push(Reason { item: h.item, evidence: ev });
    }
    Assessment { level, score: score(level, strength), reasons }
}

#[cfg(all(test, feature = "semantic"))]
mod model_tests {
    use super::*;

    /// Long chat-style messages that must stay `none`: idioms, negations, third parties, media.
    const LONG_NEGATIVES: &[&str] = &[
        "Honestly this commute is killing me, two hours each way on a packed train, and my boss keeps \
         piling on work. I'm exhausted and I just want a weekend where I can sleep in and do nothing at all.",
        "I'm not suicidal and I have never wanted to kill myself, I just feel flat and tired lately. My \
         therapist suggested I track my mood and sleep for two weeks so we can see what is going on.",
        "We watched a film last night where the main character wants to die after losing his wife, and it \
         made me think about my grandad. I'm fine, it was just a sad movie and I cried a lot, lol.",
        "My exam is tomorrow and I could die of embarrassment if I fail again in front of everyone. I have \
         been revising all week but I still feel like I know nothing, any tips for staying calm?",
        "Can you help me plan my week? I have three exams, a part-time job and my sister's wedding, and I \
         keep procrastinating. I want a schedule that leaves time for sleep, friends and the gym.",
        "My best friend tried to kill herself years ago and she is doing really well now, she's married \
         with two kids. I'm writing a speech for her birthday and want it to be funny but kind.",
    ];

    #[test]
    fn long_idioms_and_negations_stay_none() {
        for t in LONG_NEGATIVES {
            let a = assess(t, &[]);
            assert_eq!(a.level, Level::None, "{t}: {:?}", a.reason_strings());
        }
    }

    #[test]
    fn model_never_lowers_and_explains_raises() {
        let probes = include_str!("../tests/data/probes_extra.jsonl");
        let mut texts: Vec<String> = probes
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["text"].as_str().map(str::to_owned))
            .collect();
        texts.extend(LONG_NEGATIVES.iter().map(|s| (*s).to_owned()));
        texts.push(
            "I have been so tired for months. Nothing helps, not the pills, not therapy, not my family. \
             I just want to be at peace and stop feeling like this, I can't keep pretending I'm okay."
                .to_owned(),
        );
        texts.push(
            "I've decided. I'm going to kill myself on Friday after work when everyone is out of the \
             house, I have the pills saved and I wrote my letters last night, I'm sorry."
                .to_owned(),
        );
        let mut raised = 0;
        for t in &texts {
            let rules = assess_with(t, &[], false);
            let both = assess_with(t, &[], true);
            assert!(both.level >= rules.level, "model lowered {t}");
            if both.level > rules.level {
                raised += 1;
                assert!(both.reasons[0].item.starts_with("Model"), "{t}");
                assert!(!both.reasons[0].evidence.is_empty(), "{t}");
            } else {
                assert_eq!(both, rules, "{t}");
            }
        }
        assert!(raised >= 1, "the long distress message should be raised by the model");
    }
}
