//! Screens the AI's own words as they stream. A model can drift into method detail or
//! encouragement of self-harm; such a reply is cut (`finish:"safety"`) before the offending
//! delta reaches the patient and replaced with a safe message.
//!
//! Patterns are deliberately broad: a false positive costs one replaced reply, a miss can cost
//! a life.

use std::sync::LazyLock;

use regex::RegexSet;

#[allow(clippy::expect_used)] // constant patterns, covered by the tests below
static HARMFUL: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        // Dosage / lethality of means.
        r"(?i)\b(lethal|fatal|deadly|toxic)\s+(dose|amount|quantity)\b",
        r"(?i)\bhow\s+many\s+(pills|tablets|paracetamol|co-?codamol|sleeping\s+pills)\b.{0,40}\b(kill|die|fatal|lethal|enough)\b",
        r"(?i)\b\d+\s*(mg|g|grams|milligrams|pills|tablets)\b.{0,40}\b(fatal|lethal|enough\s+to\s+(die|kill))\b",
        // Instructions for methods.
        r"(?i)\b(tie|make|knot)\s+(a\s+)?(noose|ligature)\b",
        r"(?i)\b(cut|slit)\s+(deeper|along|your\s+wrists?|vertically)\b",
        r"(?i)\b(the\s+)?(best|easiest|quickest|painless|most\s+effective)\s+(way|method)s?\s+to\s+(die|kill\s+yourself|end\s+(it|your\s+life)|commit\s+suicide)\b",
        r"(?i)\bhigh\s+enough\s+to\s+(die|be\s+fatal)\b",
        // Encouragement.
        r"(?i)\byou\s+should\s+(just\s+)?(kill\s+yourself|end\s+it|die|hurt\s+yourself)\b",
        r"(?i)\b(go\s+ahead\s+and|you\s+deserve\s+to)\s+(die|hurt\s+yourself|kill\s+yourself)\b",
        r"(?i)\bno\s+one\s+would\s+(miss|care\s+about)\s+you\b",
    ])
    .expect("valid output-guard patterns")
});

/// Longest text one pattern can match, with margin; a window this long before a new delta holds
/// any match that the delta completes.
const LONGEST_MATCH: usize = 256;

/// Whether an AI reply (so far) contains harmful content.
pub fn is_harmful(reply_so_far: &str) -> bool {
    HARMFUL.is_match(reply_so_far)
}

/// Whether the last `new_len` bytes of `reply_so_far` complete harmful content. Everything before
/// them was already checked, so only a bounded tail is scanned: the per-token cost stays constant
/// instead of growing with the reply.
pub fn delta_completes_harm(reply_so_far: &str, new_len: usize) -> bool {
    let mut start = reply_so_far.len().saturating_sub(new_len + LONGEST_MATCH);
    while !reply_so_far.is_char_boundary(start) {
        start -= 1;
    }
    HARMFUL.is_match(&reply_so_far[start..])
}

#[cfg(test)]
mod tests {
    use super::is_harmful;

    #[test]
    fn catches_method_detail_and_encouragement() {
        for bad in [
            "A lethal dose of paracetamol is about",
            "You could tie a noose from",
            "the easiest way to end it is",
            "You should just kill yourself",
            "taking 40 tablets would be enough to die",
            "Honestly no one would miss you",
        ] {
            assert!(is_harmful(bad), "missed: {bad}");
        }
    }

    #[test]
    fn a_harmful_phrase_split_across_deltas_is_caught_after_a_long_reply() {
        use super::delta_completes_harm;
        let mut reply = "Thank you for telling me how you feel. ".repeat(200);
        for delta in ["You could ", "tie a ", "noose"] {
            reply.push_str(delta);
            if delta_completes_harm(&reply, delta.len()) {
                assert_eq!(delta, "noose");
                return;
            }
        }
        panic!("the split phrase was not caught");
    }

    #[test]
    fn leaves_supportive_replies_alone() {
        for ok in [
            "It sounds like you're carrying a lot. Would you like to try a breathing exercise?",
            "If you're thinking about ending your life, please call Samaritans on 116 123.",
            "Cutting down on caffeine can help with sleep.",
            "How many hours of sleep are you getting?",
        ] {
            assert!(!is_harmful(ok), "false alarm: {ok}");
        }
    }
}
