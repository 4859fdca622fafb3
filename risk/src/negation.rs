//! Cues that do not mean what they say: negation ("I'm not suicidal"), idioms ("this commute is
//! killing me", "I could murder a pizza") and quotes from media ("the film where he kills himself").

use crate::lexicon::compile;
use regex::Regex;
use std::sync::LazyLock;

const NEGATORS: &[&str] = &[
    "not",
    "never",
    "don't",
    "dont",
    "won't",
    "wont",
    "wouldn't",
    "wouldnt",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "wasn't",
    "wasnt",
    "ain't",
    "aint",
    "haven't",
    "havent",
    "hasn't",
    "hasnt",
    "shouldn't",
    "shouldnt",
    "no",
    "nor",
    "doesn't",
    "doesnt",
    "nt",
    "n't",
];

/// Words right after a negator that turn it into something else ("can't *stop* thinking about
/// it", "not *sure* if", "no *one* would care").
const NEGATOR_EXCEPTIONS: &[&str] = &[
    "stop",
    "help",
    "wait",
    "know",
    "care",
    "believe",
    "understand",
    "sure",
    "think",
    "see",
    "take",
    "handle",
    "cope",
    "bear",
    "deal",
    "one",
    "matter",
    "point",
    "reason",
    "only",
    "just",
    "been",
    "felt",
    "feel",
    "more",
    "longer",
    "way",
    "idea",
    "other",
    "better",
    "escape",
    "resist",
    "get",
    "afraid",
    "scared",
    "mind",
    "anyone",
    "anybody",
    "everyone",
    "sleep",
    "eat",
    "normal",
    "fine",
    "ok",
    "okay",
    "good",
    "happy",
    "that",
    "knowing",
    "because",
    "trying",
    "having",
    "worth",
    "living",
    "end",
    "ends",
    "stops",
    "changes",
];

/// Words that end a negator's scope when scanning backwards from a cue.
const SCOPE_BREAKERS: &[&str] = &[
    "but",
    "and",
    "because",
    "cause",
    "cuz",
    "coz",
    "if",
    "when",
    "so",
    "that",
    "why",
    "or",
    "yet",
    "then",
    "though",
    "although",
    "until",
    "unless",
    "since",
    "while",
    "wish",
    "hope",
    "how",
    "what",
    "whether",
    "who",
    "where",
    "sometimes",
];

fn clean(w: &str) -> &str {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
}

/// "no" negates only these nouns ("no intention of", "no plans to").
const NO_NOUNS: &[&str] = &[
    "plan",
    "plans",
    "intention",
    "intentions",
    "intent",
    "desire",
    "thought",
    "thoughts",
    "urge",
    "urges",
    "wish",
    "interest",
    "suicidal",
    "si",
    "ideation",
];

/// Whether the cue following `prefix` (same clause, normalised) is negated: a negator within the
/// last four words, not followed by an exception word, not a rhetorical "why don't I", and not
/// separated from the cue by a scope breaker.
pub fn is_negated(prefix: &str) -> bool {
    let words: Vec<&str> = prefix.split_whitespace().map(clean).collect();
    let n = words.len();
    for back in 0..n.min(4) {
        let i = n - 1 - back;
        let w = words[i];
        if SCOPE_BREAKERS.contains(&w) {
            return false;
        }
        let next = words.get(i + 1).copied().unwrap_or("");
        let negator = NEGATORS.contains(&w) || (w == "no" && NO_NOUNS.contains(&next));
        if negator {
            let prev = if i > 0 { words[i - 1] } else { "" };
            let prev2 = if i > 1 { words[i - 2] } else { "" };
            // "this isn't a life", "there's no future": the negation is part of the distress.
            let next2 = words.get(i + 2).copied().unwrap_or("");
            let distress = next == "a" && matches!(next2, "life" | "future");
            if NEGATOR_EXCEPTIONS.contains(&next) || distress || prev == "why" || prev2 == "why" {
                return false;
            }
            return true;
        }
    }
    false
}

/// Whether the cue is reported as past ("I used to want to die").
pub fn is_habitual_past(prefix: &str) -> bool {
    let p = prefix.trim_end();
    p.ends_with("used to") || p.ends_with("use to") || p.ends_with("used to be")
}

/// Idioms and non-clinical uses; a cue overlapping one of these is discarded.
static IDIOMS: LazyLock<Regex> = LazyLock::new(|| {
    let p = [
        r"\bkill(?:ing|ed)?\s+myself\s+(?:laughing|at\s+(?:the\s+)?(?:gym|work|practice)|with\s+(?:work|laughter|this\s+workout)|over\s+(?:this|that|it|nothing|a)|working|studying|revising|training|to\s+(?:get|finish|make|meet|keep|pay|afford|please|impress|hit))",
        r"\bcould\s+(?:\w+\s+)?kill\s+myself\s+for\b",
        r"\b(?:could|would|'d|gonna|going\s+to|about\s+to|might|will|literally|just)\s+(?:literally\s+)?die\s+(?:of|from)\s+(?:embarrassment|boredom|shame|cringe|laughter|laughing|happiness|cuteness|excitement|jealousy)",
        r"\b(?:want|wanna|wanted)\s+to\s+die\s+(?:of|from)\s+(?:embarrassment|cringe|shame|laughter|boredom)",
        r"\b(?:bored|embarrassed|full|hungover|cringing)\s+(?:that\s+)?i\s+(?:could|want\s+to|wanna|might|would)\s+(?:literally\s+)?die\b",
        r"\bdie\s+laughing\b|\bto\s+die\s+for\b|\bdying\s+to\s+(?:see|know|try|get|meet|go|hear|watch|tell|read|play|eat)\b",
        r"\bsuicide\s+(?:squad|mission|doors?|runs?|sprints?|drills?|blonde|prevention|hotlines?|helplines?|lines?|watch|awareness|rates?|statistics|stats|crisis\s+line|hotline\s+number|number|text\s+line|support\s+(?:line|group)|survivors?\s+group|bereavement)\b|\br/suicidewatch\b|\bsuicidewatch\b|\bsuicide\s+is\s+(?:never|not)\s+the\s+answer\b",
        r"\boverdos\w*\s+on\s+(?:chocolate|caffeine|sugar|coffee|netflix|cuteness|cute|carbs|candy|sweets|pizza|tv|anime|memes)\b",
        r"\bshoot(?:ing)?\s+myself\s+in\s+the\s+foot\b",
        r"\bend\s+(?:it|things)\s+(?:with|between)\s+(?:him|her|them|my|someone|us|the)\b|\bend\s+(?:it|things)\s+off\s+with\b",
        r"\bif\s+(?:\w+\s+)?(?:everyone|your\s+friends|all\s+your\s+friends|they)\s+jump\w*\s+off\b",
        r"\bkill\s+(?:me|myself)\s+now\s+(?:lol|lmao|haha|😂)|\b(?:lol|lmao|haha)\s+(?:i\s+)?(?:want\s+to\s+|wanna\s+)?(?:die|kill\s+myself)\s+(?:lol|lmao|haha)\b",
        r"\b(?:wanna|want\s+to|gonna|going\s+to)\s+(?:die|kill\s+myself)\s+(?:lol|lmao|haha|jk|lolol)\b",
        r"\bcommit(?:ting)?\s+to\b|\bcommitted\s+(?:to|relationship)\b",
        r"\bthis\s+is\s+it\s+(?:lol|guys|folks|people|the\s+big)\b",
        r"\bhang(?:ing)?\s+(?:out|with|around)\b|\bhung\s+(?:out|up)\b",
        r"\b(?:start|go|can)\s+plann?(?:ing)?\s+my\s+funeral\b|\bplann?(?:ing)?\s+my\s+funeral\s+(?:lol|lmao|haha)|\bfuneral\s+(?:plan|plans|insurance|cover|policy|fund)\b",
        r"\b(?:die|died|dying)\s+in\s+(?:the|that|this|a|my)\s+(?:game|match|level|raid|round|video\s+game)\b",
        r"\btak(?:e|ing)\s+(?:back\s+)?my\s+(?:own\s+)?life\s+(?:back|into\s+my\s+own\s+hands|in\s+a\s+new\s+direction)\b|\btak(?:e|ing)\s+back\s+my\s+life\b",
    ];
    compile(&p.join("|"))
});

/// Idiom spans in `text` (normalised).
pub fn idiom_spans(text: &str) -> Vec<(usize, usize)> {
    IDIOMS.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

static MEDIA: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:film|films|movie|movies|show|shows|series|episode|season|song|songs|lyrics?|album|book|books|novel|character|characters|scene|documentary|video\s+game|videogame|anime|manga|play|poem|article|news|tv|netflix|tiktok|youtube|podcast|sings|singing|sang|rapper|singer|band|actor|actress|plot|spoiler|spoilers|comic|cartoon|game\s+of\s+thrones|13\s+reasons\s+why|hamlet|romeo)\b",
    )
});

/// Whether a sentence talks about media (films, songs, books).
pub fn mentions_media(sentence: &str) -> bool {
    MEDIA.is_match(sentence)
}

/// Whether byte offset `at` of `sentence` lies inside a double-quoted span.
pub fn inside_quotes(sentence: &str, at: usize) -> bool {
    sentence.get(..at).is_some_and(|p| p.bytes().filter(|&b| b == b'"').count() % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_scope() {
        assert!(is_negated("i'm not"));
        assert!(is_negated("i would never"));
        assert!(is_negated("i have no intention of"));
        assert!(is_negated("don't worry, i would never"));
        assert!(!is_negated("i can't stop thinking about"));
        assert!(!is_negated("no one would care if i"));
        assert!(!is_negated("i'm not sure if i"));
        assert!(!is_negated("i just"));
        assert!(!is_negated("i'm not okay and i"));
        assert!(!is_negated("why dont i just"));
        assert!(!is_negated("this isn't a life i"));
        assert!(!is_negated("i don't care anymore i"));
        assert!(!is_negated("this pain never ends i"));
        assert!(!is_negated("it's not worth living i"));
        assert!(is_negated("i'm not a"));
        assert!(!is_negated("no courage i've been trying to"));
        assert!(is_habitual_past("i used to"));
    }

    #[test]
    fn idioms_found() {
        for s in [
            "i'm killing myself at the gym",
            "i could die of embarrassment",
            "i'm dying to see it",
            "the suicide squad film",
            "i want to end it with my boyfriend",
            "so bored i want to die",
        ] {
            assert!(!idiom_spans(s).is_empty(), "{s}");
        }
        assert!(idiom_spans("i want to kill myself").is_empty());
    }
}
