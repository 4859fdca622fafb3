//! Whose risk is it? Third-party disclosures ("my friend says she'll kill herself tonight") are
//! only patient-relevant when the other person is in imminent danger.

use crate::lexicon::compile;
use regex::Regex;
use std::sync::LazyLock;

/// The grammatical owner of a cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The patient (or no explicit subject, which in a patient's chat means the patient).
    Patient,
    /// Someone else (friend, family member, a character).
    Other,
    /// Generic "you" (advice, rhetorical).
    Generic,
}

static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:i|i'm|im|i've|ive|i'd|i'll|me|my|myself|we|we're|our|us|you|you're|your|yourself|u|ur|he|he's|she|she's|they|they're|him|her|his|their|them|himself|herself|themselves|friend|friends|bestie|bff|mum|mom|mother|dad|father|parent|parents|brother|sister|sibling|son|daughter|child|boyfriend|girlfriend|bf|gf|partner|husband|wife|fiance|fiancee|cousin|uncle|aunt|grandma|grandpa|grandmother|grandfather|nan|classmate|roommate|housemate|flatmate|coworker|colleague|someone|somebody|person|people|guy|girl|man|woman|kid|student|character|ex|niece|nephew|neighbour|neighbor|teacher|patient|client|member|relative|relatives|family|loved\s+one|acquaintance|stranger)\b",
    )
});

fn classify(word: &str) -> Subject {
    match word {
        "i" | "i'm" | "im" | "i've" | "ive" | "i'd" | "i'll" | "me" | "my" | "myself" | "we" | "we're" | "our"
        | "us" => Subject::Patient,
        "you" | "you're" | "your" | "yourself" | "u" | "ur" => Subject::Generic,
        _ => Subject::Other,
    }
}

/// The nearest subject-like word before a cue: first within its clause, then its sentence.
pub fn subject_of(clause_prefix: &str, sentence_prefix: &str) -> Subject {
    for p in [clause_prefix, sentence_prefix] {
        if let Some(m) = SUBJECT.find_iter(p).last() {
            return classify(m.as_str());
        }
    }
    Subject::Patient
}

static IMMINENT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:tonight|right\s+now|just\s+(?:now|texted|told|messaged|called|said|sent|posted|took|taken|swallowed)|(?:is|are|'s|'re)\s+(?:going|about|gonna)\s+(?:to\s+)?|(?:she|he|they)'ll|(?:she|he|they)\s+will|(?:is|are|'s)\s+(?:planning|threatening)|threaten\w*|says?\s+(?:she|he|they)\s+(?:is|are|will|'s|'ll|has|have)|said\s+(?:she|he|they)(?:'s|'ll|\s+(?:is|are|will|was\s+going|has|have))|what\s+(?:do|should|can)\s+i\s+do|how\s+(?:do|can|should)\s+i\s+(?:help|stop|save)|(?:has|have|'s|'ve)\s+(?:just\s+)?(?:taken|swallowed|cut)|(?:is|are)\s+(?:taking|cutting|on\s+the)|goodbye\s+(?:text|message)|not\s+answering|won't\s+(?:answer|pick\s+up)|(?:she|he|they)'s\s+(?:on|at)\s+(?:the|a)\s+(?:bridge|roof|ledge)|help\s+me|please\s+help|emergency)\b",
    )
});

static AFTER_THE_FACT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:years?\s+ago|months\s+ago|last\s+year|passed\s+away|died|dead|funeral|grief|grieving|lost\s+(?:him|her|them|my)|rip|memorial|anniversary|(?:is|was|are|were)\s+(?:now\s+)?(?:in|at)\s+(?:the\s+)?(?:hospital|er|icu|a&e)|(?:called|came|took|taken|got|transported|rushed)\s+(?:\w+\s+){0,3}?(?:ambulance|hospital|police|cops|paramedics|er)|ambulance\s+(?:came|arrived|took|is\s+on)|recovered|recovering|survived|in\s+recovery|(?:killed|hanged|hung|shot)\s+(?:him|her|them)sel(?:f|ves)|took\s+(?:his|her|their)\s+(?:own\s+)?li(?:fe|ves)|committed\s+suicide|died\s+by\s+suicide|lost\s+(?:\w+\s+)?to\s+suicide)\b",
    )
});

/// Whether a third-party disclosure describes someone in imminent danger (present or future,
/// asking for help now) rather than a past event or one already in professional hands.
pub fn third_party_imminent(message: &str, media: bool) -> bool {
    !media && IMMINENT.is_match(message) && !AFTER_THE_FACT.is_match(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert_eq!(subject_of("my friend", ""), Subject::Other);
        assert_eq!(subject_of("she told me i", ""), Subject::Patient);
        assert_eq!(subject_of("", ""), Subject::Patient);
        assert_eq!(subject_of("if you", ""), Subject::Generic);
        assert_eq!(subject_of("", "my brother said he"), Subject::Other);
    }

    #[test]
    fn imminence() {
        assert!(third_party_imminent("my friend just texted me that she's taken all her pills, what do i do", false));
        assert!(!third_party_imminent("my friend took her own life five years ago", false));
        assert!(!third_party_imminent("she took pills and now the ambulance came and took her to hospital", false));
        assert!(!third_party_imminent("in the film he kills himself right now", true));
    }
}
