//! [`OfflineResponder`]: the embedded default companion — deterministic, CBT-informed replies with
//! no network and no model.
//!
//! Why this file exists: `cargo run` must give a working, safe chat with nothing installed, tests
//! and load tests need a provider whose output is reproducible, and the platform needs something
//! sensible to say when the upstream model is unavailable.
//!
//! Every reply has the same shape, in this order: a brief reflection of the patient's own words, a
//! validation of the feeling, one evidence-based self-help technique chosen by the theme of the
//! latest message, and exactly one open question. Variants are picked by a stable hash of the
//! input, so the same conversation always gets the same reply. Replies never claim to be a human
//! or a clinician. There is deliberately no crisis handling here: high-risk messages are handled
//! by the platform before any provider is asked.

use std::time::Duration;

use crate::provider::{ChatRole, CompletionRequest, DeltaStream, LlmError, LlmProvider, ProviderInfo};

/// The model name reported by [`OfflineResponder::info`].
pub const OFFLINE_MODEL: &str = "offline-cbt-v1";

/// The built-in responder. `word_delay` is the pause between streamed words (zero in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineResponder {
    pub word_delay: Duration,
}

impl Default for OfflineResponder {
    /// A reading-pace stream: 40 ms per word.
    fn default() -> Self {
        Self { word_delay: Duration::from_millis(40) }
    }
}

impl OfflineResponder {
    pub fn new(word_delay: Duration) -> Self {
        Self { word_delay }
    }

    /// The full reply to `request`, as it would be streamed. Deterministic.
    pub fn reply(&self, request: &CompletionRequest) -> String {
        let latest =
            request.turns.iter().rev().find(|t| t.role == ChatRole::User).map(|t| t.text.as_str()).unwrap_or("");
        let user_turns = request.turns.iter().filter(|t| t.role == ChatRole::User).count();
        compose(latest, user_turns as u64)
    }
}

#[async_trait::async_trait]
impl LlmProvider for OfflineResponder {
    fn info(&self) -> ProviderInfo {
        ProviderInfo { kind: "offline", model: OFFLINE_MODEL.to_owned() }
    }

    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, LlmError> {
        let reply = self.reply(&request);
        let delay = self.word_delay;
        let stream = futures_util::stream::unfold((reply, 0usize), move |(reply, pos)| async move {
            let piece = word_pieces(&reply[pos..]).next()?;
            if pos > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let next = pos + piece.len();
            let piece = piece.to_owned();
            Some((Ok(piece), (reply, next)))
        });
        Ok(Box::pin(stream))
    }
}

/// Splits text into streaming pieces: each is a word plus the whitespace that follows it (leading
/// whitespace stays with the first piece). Concatenating the pieces gives back `text` exactly.
pub(crate) fn word_pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut seen_word = false;
        let mut in_space_after_word = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if c.is_whitespace() {
                if seen_word {
                    in_space_after_word = true;
                }
            } else if in_space_after_word {
                end = i;
                break;
            } else {
                seen_word = true;
            }
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Theme {
    Sleep,
    Anger,
    Loneliness,
    Anxiety,
    LowMood,
    Stress,
    Generic,
}

/// Keyword lists per theme: whole words, word prefixes, and multi-word phrases. The order of this
/// table is also the tie-break order.
struct Keywords {
    theme: Theme,
    words: &'static [&'static str],
    prefixes: &'static [&'static str],
    phrases: &'static [&'static str],
}

const KEYWORDS: &[Keywords] = &[
    Keywords {
        theme: Theme::Sleep,
        words: &["tired", "awake", "bed", "bedtime", "night", "nights", "3am", "4am", "slept"],
        prefixes: &["sleep", "insomn", "nightmare", "exhaust"],
        phrases: &["wake up", "waking up", "lying awake"],
    },
    Keywords {
        theme: Theme::Anger,
        words: &["mad", "rage", "livid", "snapped", "snap", "hate", "fuming", "furious"],
        prefixes: &["anger", "angr", "irritat", "frustrat", "resent", "annoy"],
        phrases: &["pissed off", "fed up", "lost my temper"],
    },
    Keywords {
        theme: Theme::Loneliness,
        words: &["alone", "nobody", "friendless", "disconnected"],
        prefixes: &["lonel", "isolat", "excluded"],
        phrases: &["no one", "no-one", "no friends", "left out", "by myself", "on my own"],
    },
    Keywords {
        theme: Theme::Anxiety,
        words: &["scared", "afraid", "fear", "tense", "nervous", "uneasy"],
        prefixes: &["anxi", "worr", "panic", "frighten", "dread", "overthink", "terrif"],
        phrases: &["on edge", "heart racing", "racing heart", "can't breathe", "cant breathe"],
    },
    Keywords {
        theme: Theme::LowMood,
        words: &["sad", "down", "low", "flat", "cry", "cried", "empty", "numb", "blue"],
        prefixes: &[
            "depress",
            "hopeless",
            "worthless",
            "miserab",
            "unmotivat",
            "tearful",
            "crying",
            "pointless",
            "unhappy",
            "gloom",
        ],
        phrases: &["no energy", "no motivation", "can't be bothered", "hate myself", "tired of", "sick of myself"],
    },
    Keywords {
        theme: Theme::Stress,
        words: &["work", "job", "boss", "busy", "uni", "school", "college", "money", "bills"],
        prefixes: &["stress", "overwhelm", "pressur", "deadline", "burnout", "exam", "workload"],
        phrases: &["too much", "can't cope", "cant cope", "burnt out", "burned out"],
    },
];

/// Lower-cased words of `text` (letters, digits and apostrophes; curly apostrophes normalised).
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('\u{2019}', "'").to_lowercase())
        .collect()
}

fn detect_theme(text: &str) -> Theme {
    let words = words_of(text);
    let joined = format!(" {} ", words.join(" "));
    let mut best = (0usize, Theme::Generic);
    for kw in KEYWORDS {
        let mut score = 0;
        for w in &words {
            if kw.words.contains(&w.as_str()) || kw.prefixes.iter().any(|p| w.starts_with(p)) {
                score += 1;
            }
        }
        for phrase in kw.phrases {
            if joined.contains(&format!(" {phrase} ")) {
                score += 2;
            }
        }
        // Strictly greater: earlier entries win ties.
        if score > best.0 {
            best = (score, kw.theme);
        }
    }
    best.1
}

struct Script {
    reflections: &'static [&'static str],
    validations: &'static [&'static str],
    techniques: &'static [&'static str],
    questions: &'static [&'static str],
}

fn script(theme: Theme) -> &'static Script {
    match theme {
        Theme::Anxiety => &Script {
            reflections: &[
                "It sounds like worry has been taking up a lot of room lately.",
                "It sounds like your mind has been on high alert.",
            ],
            validations: &[
                "That can be exhausting, and it makes sense that your body and mind feel tense.",
                "Anxiety can feel overwhelming, and noticing it like this is a real step.",
            ],
            techniques: &[
                "One thing that helps many people is 4-7-8 breathing: breathe in gently for 4, hold for 7, then breathe out slowly for 8, and repeat it three or four times.",
                "You could try 5-4-3-2-1 grounding: notice five things you can see, four you can feel, three you can hear, two you can smell and one you can taste.",
            ],
            questions: &[
                "What tends to set the worry off for you?",
                "When the anxious feeling shows up, what do you notice first?",
                "What would feel most helpful to talk through right now?",
            ],
        },
        Theme::LowMood => &Script {
            reflections: &[
                "It sounds like things have been feeling heavy and low for you.",
                "It sounds like your mood has been really low lately.",
            ],
            validations: &[
                "That sounds really hard, and it makes sense to feel worn down by it.",
                "Low days like this are painful, and you don't have to carry them alone.",
            ],
            techniques: &[
                "Something that often helps low mood is behavioural activation: choosing one small, doable thing today, like a short walk or a shower, and noticing how you feel afterwards.",
                "A thought record can help too: write down one harsh thought, the evidence for and against it, and a kinder, more balanced way of seeing it.",
            ],
            questions: &[
                "What has your energy been like over the last few days?",
                "What is one small thing that used to bring you a bit of comfort?",
                "How have the last few days been for you?",
            ],
        },
        Theme::Sleep => &Script {
            reflections: &[
                "It sounds like sleep has been really difficult lately.",
                "It sounds like the nights have been hard going.",
            ],
            validations: &[
                "Poor sleep makes everything feel harder, so it's understandable that you're struggling.",
                "Being this tired can wear anyone down, and it makes sense that you want some relief.",
            ],
            techniques: &[
                "Sleep hygiene can help: keep a steady wake-up time, put screens away an hour before bed, and if you can't sleep after about twenty minutes, get up and do something calm until you feel sleepy.",
                "You might try a short worry time earlier in the evening: spend ten minutes writing down what's on your mind and one possible next step, so it's less likely to follow you to bed.",
            ],
            questions: &[
                "What usually goes through your mind when you're lying awake?",
                "What does your evening tend to look like before bed?",
            ],
        },
        Theme::Anger => &Script {
            reflections: &[
                "It sounds like something has really got under your skin.",
                "It sounds like you've been feeling really wound up.",
            ],
            validations: &[
                "Anger is a normal feeling, and it often tells us that something important matters to us.",
                "It makes sense to feel frustrated when things seem unfair or out of your control.",
            ],
            techniques: &[
                "When it builds, box breathing can help: breathe in for 4, hold for 4, breathe out for 4 and hold for 4, for a few rounds, before deciding what to do next.",
                "It can help to pause before reacting: step away for a few minutes, take some slow breaths, and notice the thought driving the anger before you respond.",
            ],
            questions: &[
                "What happened just before the anger kicked in?",
                "What do you think the anger might be trying to tell you?",
            ],
        },
        Theme::Loneliness => &Script {
            reflections: &[
                "It sounds like you've been feeling quite alone lately.",
                "It sounds like connection with others has felt out of reach.",
            ],
            validations: &[
                "Loneliness can really hurt, and it's a very human thing to feel.",
                "Feeling disconnected is painful, and it takes courage to say it out loud.",
            ],
            techniques: &[
                "One small step can help: send a short message to one person, or spend twenty minutes somewhere with people around, like a library or a café.",
                "Some people find it helps to plan one small, regular point of contact each week, such as a walk with someone, a class or a local group.",
            ],
            questions: &[
                "Who is someone you've felt even a little bit close to in the past?",
                "What kind of connection do you miss the most?",
            ],
        },
        Theme::Stress => &Script {
            reflections: &[
                "It sounds like there's a lot on your plate right now.",
                "It sounds like the pressure has been building up.",
            ],
            validations: &[
                "That's a lot to hold at once, and feeling stretched by it is completely understandable.",
                "It makes sense to feel under pressure when so much is being asked of you.",
            ],
            techniques: &[
                "It can help to break things down: write everything on a list, pick just one small next step, and give it ten focused minutes before taking a short break.",
                "Some people set a daily worry time: fifteen minutes to write down the pressures and one next step for each, so the rest of the day feels a little lighter.",
            ],
            questions: &[
                "Which part of it feels heaviest at the moment?",
                "What would make the next day or two feel a little more manageable?",
            ],
        },
        Theme::Generic => &Script {
            reflections: &["Thank you for sharing what's on your mind.", "I'm glad you reached out today."],
            validations: &[
                "Whatever you're feeling right now is valid, and you don't have to work it all out at once.",
                "It's okay not to have the words for everything straight away.",
            ],
            techniques: &[
                "If it helps, you could try a minute of paced breathing: in slowly for 4 and out for 6, letting your shoulders drop on each out-breath.",
                "Sometimes it helps to jot down the thought that's loudest right now and gently ask whether there's another way of seeing it.",
            ],
            questions: &[
                "What would you like to focus on together?",
                "How have things been for you today?",
                "What's been on your mind most today?",
            ],
        },
    }
}

/// Ways to frame a reflected phrase of the patient's own words.
const MIRRORS: &[&str] = &["It sounds like {}.", "I'm hearing that {}.", "Thank you for telling me that {}."];

/// Words that make a phrase unsuitable to mirror back verbatim (self-critical or risk-adjacent
/// phrasing is better met with a gentler, general reflection).
const NO_MIRROR: &[&str] = &[
    "hate",
    "worthless",
    "useless",
    "stupid",
    "failure",
    "burden",
    "kill",
    "die",
    "dead",
    "death",
    "hurt",
    "harm",
    "cut",
    "suicide",
    "suicidal",
    "ugly",
    "disgusting",
    "pathetic",
    "overdose",
];

/// First-person → second-person swaps for reflecting the patient's words back.
fn swap_pronoun(prev: Option<&str>, word: &str) -> Option<&'static str> {
    Some(match word {
        "i" | "me" => "you",
        "i'm" | "im" => "you're",
        "i've" | "ive" => "you've",
        "i'd" => "you'd",
        "i'll" => "you'll",
        "my" => "your",
        "mine" => "yours",
        "myself" => "yourself",
        "am" if prev == Some("i") => "are",
        "was" if prev == Some("i") => "were",
        "wasn't" if prev == Some("i") => "weren't",
        _ => return None,
    })
}

const FILLERS: &[&str] = &[
    "and",
    "but",
    "so",
    "honestly",
    "just",
    "well",
    "like",
    "ok",
    "okay",
    "also",
    "um",
    "tbh",
    "basically",
    "yeah",
    "hi",
    "hello",
    "hey",
];

/// A short first-person clause from the message, turned around to the second person
/// ("I can't switch off at night" → "you can't switch off at night"), if one is suitable.
fn mirror_phrase(text: &str) -> Option<String> {
    // Clauses, not sentences: mirroring stops at the first comma so the phrase stays short and
    // grammatical ("I'm so angry at my brother, he never listens" → "you're so angry at your
    // brother").
    for sentence in text.split(['.', '!', '?', ';', ',', '\n']) {
        let raw: Vec<&str> = sentence.split_whitespace().collect();
        let lower: Vec<String> = raw
            .iter()
            .map(|w| {
                w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
                    .replace('\u{2019}', "'")
                    .to_lowercase()
            })
            .collect();
        let start = lower.iter().position(|w| !FILLERS.contains(&w.as_str())).unwrap_or(lower.len());
        let (raw, lower) = (&raw[start..], &lower[start..]);
        if !(3..=12).contains(&raw.len()) {
            continue;
        }
        if swap_pronoun(None, &lower[0]).is_none() || lower[0] == "am" || lower[0] == "was" {
            continue;
        }
        let unsuitable = lower.iter().any(|w| {
            NO_MIRROR.iter().any(|n| w.starts_with(n))
                || matches!(w.as_str(), "you" | "your" | "you're" | "yours" | "u" | "we" | "us" | "our" | "ours")
                || w.chars().any(|c| c.is_ascii_digit())
                || w.is_empty()
        }) || raw.iter().any(|w| w.contains(['@', '/', '"', '(', ')', '[', ']', '*', '#', '<', '>']));
        if unsuitable {
            continue;
        }
        let mut out = String::new();
        for (i, (raw_w, low_w)) in raw.iter().zip(lower).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let prev = if i > 0 { Some(lower[i - 1].as_str()) } else { None };
            match swap_pronoun(prev, low_w) {
                Some(swapped) => out.push_str(swapped),
                None => out.push_str(raw_w.trim_end_matches([':', '-'])),
            }
        }
        let out = out.trim_end_matches([':', '-', ' ']).to_owned();
        return Some(out);
    }
    None
}

/// FNV-1a: a tiny hash that is stable across Rust versions and platforms (std's hasher is not
/// guaranteed to be), so replies stay reproducible.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn pick<'a>(options: &[&'a str], h: u64, shift: u32) -> &'a str {
    options[((h >> shift) % options.len() as u64) as usize]
}

/// Questions about what the companion is. These get an honest answer instead of a mirrored phrase.
const ABOUT_ME: &[&str] = &[
    "real person",
    "are you human",
    "are you a human",
    "are you real",
    "are you a bot",
    "are you a robot",
    "are you an ai",
    "are you a therapist",
    "are you a doctor",
    "are you a counsellor",
    "are you a counselor",
    "who am i talking to",
    "am i talking to a",
];

fn asks_about_me(text: &str) -> bool {
    let joined = format!(" {} ", words_of(text).join(" "));
    ABOUT_ME.iter().any(|p| joined.contains(&format!(" {p} ")))
}

/// The honest answer to "are you a real person?" and similar.
const I_AM_AN_AI: &str = "I'm an AI companion, not a person or a clinician, but I'm here to listen.";

/// Builds the reply to `latest`. `turn_seed` varies the wording as a conversation goes on.
fn compose(latest: &str, turn_seed: u64) -> String {
    let theme = detect_theme(latest);
    let s = script(theme);
    let h = fnv1a(latest.trim().as_bytes(), turn_seed);

    // Mirror the patient's words about half the time when a suitable phrase exists; otherwise use
    // the theme's own reflection.
    let reflection = match mirror_phrase(latest) {
        _ if asks_about_me(latest) => I_AM_AN_AI.to_owned(),
        Some(phrase) if (h >> 40).is_multiple_of(2) || theme == Theme::Generic => {
            pick(MIRRORS, h, 44).replace("{}", &phrase)
        }
        _ => pick(s.reflections, h, 8).to_owned(),
    };
    let validation = pick(s.validations, h, 16);
    let technique = pick(s.techniques, h, 24);
    let question = pick(s.questions, h, 32);
    format!("{reflection} {validation} {technique} {question}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_round_trip() {
        for text in ["", "one", "one two", "  lead  and\ttrail\n ", "a\n\nb", "é ü  ö"] {
            let joined: String = word_pieces(text).collect();
            assert_eq!(joined, text);
        }
        let pieces: Vec<&str> = word_pieces("hello there  friend").collect();
        assert_eq!(pieces, vec!["hello ", "there  ", "friend"]);
    }

    #[test]
    fn themes() {
        assert_eq!(detect_theme("I feel so anxious all the time"), Theme::Anxiety);
        assert_eq!(detect_theme("I can't sleep, lying awake every night"), Theme::Sleep);
        assert_eq!(detect_theme("I've been really down and empty"), Theme::LowMood);
        assert_eq!(detect_theme("I'm so angry at my brother"), Theme::Anger);
        assert_eq!(detect_theme("I feel lonely, no one calls"), Theme::Loneliness);
        assert_eq!(detect_theme("Work is overwhelming and my boss"), Theme::Stress);
        assert_eq!(detect_theme("hello"), Theme::Generic);
        assert_eq!(detect_theme("I'm WORRIED"), Theme::Anxiety);
    }

    #[test]
    fn mirrors_first_person() {
        assert_eq!(mirror_phrase("I can't switch off at night.").as_deref(), Some("you can't switch off at night"));
        assert_eq!(mirror_phrase("Honestly, I am so tired of my job").as_deref(), Some("you are so tired of your job"));
        assert_eq!(mirror_phrase("I was up all night").as_deref(), Some("you were up all night"));
        assert_eq!(mirror_phrase("My boss keeps shouting at me").as_deref(), Some("your boss keeps shouting at you"));
    }

    #[test]
    fn mirror_stops_at_clause() {
        assert_eq!(
            mirror_phrase("I'm so angry at my brother, he never listens").as_deref(),
            Some("you're so angry at your brother")
        );
    }

    #[test]
    fn self_criticism_and_weariness_are_low_mood() {
        assert_eq!(detect_theme("I hate myself"), Theme::LowMood);
        assert_eq!(detect_theme("I am tired of feeling like this"), Theme::LowMood);
        assert_eq!(detect_theme("I hate my boss"), Theme::Anger);
    }

    #[test]
    fn answers_honestly_about_being_an_ai() {
        assert!(asks_about_me("Are you a real person?"));
        assert!(asks_about_me("wait are you human"));
        assert!(!asks_about_me("are you realistic about this"));
        let reply = compose("Is this a real person? Are you a therapist?", 1);
        assert!(reply.starts_with(I_AM_AN_AI), "{reply}");
        assert_eq!(reply.matches('?').count(), 1);
    }

    #[test]
    fn does_not_mirror_unsuitable() {
        assert_eq!(mirror_phrase("I hate myself"), None);
        assert_eq!(mirror_phrase("You don't get it, I'm fine"), None);
        assert_eq!(mirror_phrase("We keep arguing"), None);
        assert_eq!(mirror_phrase("hi"), None);
    }
}
