//! What the patient is shown when a message is risky: crisis resources (configurable per
//! deployment; UK by default), the `safety` message per level, the AI's crisis response for high
//! risk, and the holding reply while a conversation is paused for a clinician.

use healing_protocol::{CrisisResource, RiskLevel};
use serde::Deserialize;

/// The resources listed in every `safety` frame. Checked against the services' own published
/// numbers (Samaritans, NHS 111, SHOUT); a deployment outside the UK must replace them
/// (`--crisis-resources FILE.json`).
pub fn uk_resources() -> Vec<CrisisResource> {
    let r = |name: &str, contact: &str, available: &str| CrisisResource {
        name: name.into(),
        contact: contact.into(),
        available: available.into(),
    };
    vec![
        r("Samaritans", "Call 116 123 (free)", "24 hours a day, 365 days a year"),
        r("NHS 111", "Call 111 and choose option 2 for mental health", "24 hours a day"),
        r("Emergency services", "Call 999 or go to A&E if you are in danger now", "24 hours a day"),
        r("SHOUT", "Text SHOUT to 85258", "24 hours a day"),
    ]
}

/// The deployment's crisis resources: a JSON array of `{"name","contact","available"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct ResourceList(pub Vec<CrisisResource>);

impl ResourceList {
    /// Loads and checks a resource file; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<ResourceList, String> {
        let list: ResourceList = serde_json::from_str(text).map_err(|e| format!("crisis resources: {e}"))?;
        if list.0.is_empty() {
            return Err(
                "crisis resources: the list is empty; patients in crisis must always see somewhere to turn".into()
            );
        }
        if list.0.iter().any(|r| r.name.trim().is_empty() || r.contact.trim().is_empty()) {
            return Err("crisis resources: every entry needs a name and a contact".into());
        }
        Ok(list)
    }
}

/// The `safety` frame's message for a level.
pub fn safety_message(level: RiskLevel, paused: bool) -> String {
    match level {
        RiskLevel::High => {
            let mut m = String::from(
                "It sounds like you might be in danger right now, and I'm really glad you told me. \
                 A member of your care team has been alerted. If you might act on these thoughts, \
                 please call 999 or go to A&E now. You can also call Samaritans free on 116 123, any time.",
            );
            if paused {
                m.push_str(" Our chat is paused until someone from your care team has been in touch.");
            }
            m
        }
        RiskLevel::Moderate => {
            "Thank you for trusting me with this. What you're describing matters, and your care team \
             has been let know. If things feel unsafe, you can talk to someone right now — Samaritans \
             are free on 116 123, any time."
                .into()
        }
        RiskLevel::Low | RiskLevel::None => {
            "It sounds like things are really hard at the moment. If you ever feel you \
             might not be safe, these services are there for you, any time."
                .into()
        }
    }
}

/// What the AI says instead of ordinary chat to a high-risk message.
pub const CRISIS_RESPONSE: &str = "I'm really sorry you're going through this, and I'm glad you told me. \
Your safety matters most right now, so I've let a member of your care team know, and a person will be in touch. \
If you are in immediate danger or might act on these thoughts, please call 999 or go to A&E now. \
You can talk to Samaritans free on 116 123 at any time, day or night, or text SHOUT to 85258. \
If you can, stay with someone you trust or move away from anything you could use to hurt yourself.";

/// The reply to any message while the conversation is paused for a clinician.
pub const PAUSED_RESPONSE: &str = "Thank you for your message — it has been saved and your care team can see it. \
Our chat is paused until someone from your care team has been in touch with you. \
If you feel unsafe at any point, please call 999, or Samaritans free on 116 123.";

/// Replaces an AI reply that drifted into harmful content.
pub const SAFE_REPLACEMENT: &str = "I'm sorry — I can't continue with that reply. If you're having thoughts of \
harming yourself, you deserve support right now: Samaritans are free on 116 123, any time, or call 999 if \
you are in danger.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_defaults_carry_the_right_numbers() {
        let all: String = uk_resources().iter().map(|r| format!("{} {}\n", r.name, r.contact)).collect();
        for needle in ["116 123", "111", "option 2", "999", "85258"] {
            assert!(all.contains(needle), "missing {needle}");
        }
        assert!(safety_message(RiskLevel::High, true).contains("116 123"));
        assert!(CRISIS_RESPONSE.contains("116 123") && CRISIS_RESPONSE.contains("999"));
    }

    #[test]
    fn resource_files_are_checked() {
        assert!(ResourceList::from_json("[]").is_err());
        assert!(ResourceList::from_json(r#"[{"name":"","contact":"1","available":"x"}]"#).is_err());
        let ok = ResourceList::from_json(r#"[{"name":"Lifeline","contact":"13 11 14","available":"24/7"}]"#);
        assert_eq!(ok.unwrap().0.len(), 1);
    }
}
