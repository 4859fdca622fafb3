//! When did it happen? Suicidal behaviour within 3 months is high risk on the C-SSRS screener,
//! behaviour longer ago moderate.

use crate::lexicon::compile;
use regex::Regex;
use std::sync::LazyLock;

/// When a behaviour cue happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Within the last 3 months, now, or unspecified (over-triage: assume recent).
    Recent,
    /// More than 3 months ago.
    Remote,
}

static RECENT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:last\s+(?:night|week|weekend|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday|time)|yesterday|today|tonight|this\s+(?:morning|week|month|evening|afternoon|weekend)|just\s+now|an?\s+hour\s+ago|(?:\d+|a|one|two|three|four|five|six|a\s+few|few|several|couple(?:\s+of)?|a\s+couple(?:\s+of)?)\s+(?:minutes?|mins?|hours?|days?|weeks?|nights?)\s+ago|(?:one|two|three|a|1|2|3|a\s+couple\s+of|couple\s+of)\s+months?\s+ago|recently|again|relapsed|earlier|the\s+other\s+day|right\s+now|currently|on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|a\s+month\s+since|weeks?\s+since|days?\s+since|last\s+\d+\s+(?:days|weeks))\b",
    )
});

static REMOTE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"\b(?:(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|a\s+few|few|several|many|couple(?:\s+of)?|a\s+couple(?:\s+of)?)\s+(?:years?|yrs?)\s+(?:ago|back|since|earlier)|years\s+(?:ago|back)|(?:\d+|four|five|six|seven|eight|nine|ten|eleven|several|many)\s+months\s+(?:ago|back)|when\s+i\s+was\s+(?:younger|a\s+(?:kid|child|teen(?:ager)?)|little|in\s+(?:high|middle|secondary|primary)\s+school|at\s+(?:school|uni|university|college)|\d+|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)|as\s+a\s+(?:kid|teen(?:ager)?|child)|in\s+(?:high|middle|secondary)\s+school|back\s+in\s+(?:the\s+day|\d{4}|school|high\s+school|college)|in\s+(?:19|20)\d\d|last\s+year|used\s+to|(?:\d+|two|three|four|five|several|many)\s+years?\s+since|in\s+the\s+past|long\s+time\s+ago|in\s+(?:years|ages|a\s+long\s+time)|(?:clean|sober|free)\s+(?:for\s+)?(?:\d+|a|two|three|several|many)\s+(?:years?|months))\b",
    )
});

/// When the behaviour described in `sentence` happened.
pub fn when(sentence: &str) -> When {
    if RECENT.is_match(sentence) || !REMOTE.is_match(sentence) { When::Recent } else { When::Remote }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_vs_recent() {
        assert_eq!(when("i tried to kill myself 5 years ago"), When::Remote);
        assert_eq!(when("i tried when i was 15"), When::Remote);
        assert_eq!(when("i tried last week"), When::Recent);
        assert_eq!(when("i attempted twice"), When::Recent);
        assert_eq!(when("two years ago and again last month"), When::Recent);
    }
}
