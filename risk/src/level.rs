//! The four triage levels and the explained [`Assessment`] returned by the engine.

use std::fmt;

/// Triage level on the C-SSRS screener, ordered `None < Low < Moderate < High`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No suicide or self-harm risk indicated.
    #[default]
    None,
    /// Wish to be dead or non-specific active suicidal thoughts (C-SSRS items 1–2), self-harm.
    Low,
    /// Thinking about a method (item 3) or suicidal behaviour more than 3 months ago.
    Moderate,
    /// Intent (4), plan (5), preparation or behaviour within 3 months, an attempt in progress,
    /// or another person in imminent danger.
    High,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 4] = [Level::None, Level::Low, Level::Moderate, Level::High];

    /// The lowercase wire name (`"none"`, `"low"`, `"moderate"`, `"high"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Low => "low",
            Level::Moderate => "moderate",
            Level::High => "high",
        }
    }

    /// Parses a wire name, case-insensitively and ignoring surrounding whitespace.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        Level::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(s))
    }

    /// Ordinal 0..=3.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// One level lower (saturating at `None`).
    pub fn lower(self) -> Level {
        match self {
            Level::High => Level::Moderate,
            Level::Moderate => Level::Low,
            Level::Low | Level::None => Level::None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cue that contributed to an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The screener item, e.g. `"C-SSRS 4: suicidal intent"`.
    pub item: &'static str,
    /// The matched span in the patient's words, trimmed to at most 120 characters.
    pub evidence: String,
}

impl fmt::Display for Reason {
    /// `C-SSRS 4 (suicidal intent): "I'm going to do it tonight"`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item.split_once(": ") {
            Some((head, label)) => write!(f, "{head} ({label}): \"{}\"", self.evidence),
            None => write!(f, "{}: \"{}\"", self.item, self.evidence),
        }
    }
}

/// The engine's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Triage level.
    pub level: Level,
    /// Strength of the evidence, `0.0..=1.0`, monotone with `level`
    /// (none < 0.25 ≤ low < 0.5 ≤ moderate < 0.75 ≤ high).
    pub score: f32,
    /// The cues that fired, strongest first.
    pub reasons: Vec<Reason>,
}

impl Assessment {
    /// The reasons rendered with [`Reason`]'s `Display`.
    pub fn reason_strings(&self) -> Vec<String> {
        self.reasons.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_roundtrip_and_order() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::parse(" HIGH "), Some(Level::High));
        assert_eq!(Level::parse("severe"), None);
        assert!(Level::None < Level::Low && Level::Moderate < Level::High);
    }

    #[test]
    fn reason_display() {
        let r = Reason { item: "C-SSRS 4: suicidal intent", evidence: "I'm going to do it tonight".into() };
        assert_eq!(r.to_string(), "C-SSRS 4 (suicidal intent): \"I'm going to do it tonight\"");
    }
}
