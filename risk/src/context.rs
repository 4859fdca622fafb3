//! Conversation build-up: earlier messages from the same patient change how the current one reads.
//! Several messages of suicidal thinking followed by a mention of means is an escalation even if
//! the last message on its own ("how high is the bridge near the station?") looks harmless.

use crate::level::Level;

/// What one earlier message contributed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    /// Its own level (without context).
    pub level: Option<Level>,
}

/// Escalations the context implies for the current message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// The level the current message should be raised to (at least).
    pub level: Level,
    /// The reason label.
    pub item: &'static str,
}

/// What the current message itself contains, as far as context rules care.
#[derive(Debug, Clone, Copy, Default)]
pub struct Current {
    /// Its own level.
    pub level: Level,
    /// Means or lethality were mentioned (bridge, pills, "how high").
    pub means: bool,
    /// Ambiguous intent ("I'm doing it tonight", "goodbye").
    pub veiled: bool,
    /// A method cue (item 3) fired.
    pub method: bool,
}

/// Applies the build-up rules; returns the strongest escalation, if any.
pub fn escalate(cur: Current, ctx: &[Summary]) -> Option<Escalation> {
    let levels: Vec<Level> = ctx.iter().filter_map(|s| s.level).collect();
    let risky = levels.iter().filter(|&&l| l >= Level::Low).count();
    let max = levels.iter().copied().max().unwrap_or(Level::None);
    let mut best: Option<Escalation> = None;
    let mut offer = |level: Level, item: &'static str| {
        if level > cur.level && best.is_none_or(|b| level > b.level) {
            best = Some(Escalation { level, item });
        }
    };
    if risky >= 1 && cur.veiled {
        offer(Level::High, "Context: veiled intent after earlier suicidal disclosures");
    }
    if risky >= 1 && (cur.means || cur.method) {
        let lvl = if risky >= 2 || max >= Level::Moderate { Level::High } else { Level::Moderate };
        offer(lvl, "Context: means mentioned after earlier suicidal thoughts");
    }
    if risky >= 3 && cur.level >= Level::Low {
        offer(Level::Moderate, "Context: persistent suicidal thoughts across the conversation");
    }
    if max >= Level::Moderate {
        offer(max.lower(), "Context: risk disclosed earlier in this conversation");
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(l: Level) -> Summary {
        Summary { level: Some(l) }
    }

    #[test]
    fn means_after_ideation_escalates() {
        let cur = Current { means: true, ..Current::default() };
        assert_eq!(escalate(cur, &[]), None);
        assert_eq!(escalate(cur, &[s(Level::Low)]).map(|e| e.level), Some(Level::Moderate));
        assert_eq!(escalate(cur, &[s(Level::Low), s(Level::None), s(Level::Low)]).map(|e| e.level), Some(Level::High));
    }

    #[test]
    fn veiled_intent_needs_context() {
        let cur = Current { veiled: true, ..Current::default() };
        assert_eq!(escalate(cur, &[s(Level::None)]), None);
        assert_eq!(escalate(cur, &[s(Level::Low)]).map(|e| e.level), Some(Level::High));
    }
}
