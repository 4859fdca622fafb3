//! The optional LLM second opinion on ambiguous messages (`low` or `moderate` from the engine).
//!
//! Clinical-safety rules held here:
//! - It runs after the engine's alert has been raised, in its own task: a slow or failing model
//!   never delays the alert.
//! - It can only raise a level: a higher answer raises a further alert at that level; a lower or
//!   equal answer, a malformed answer, or no answer changes nothing.
//! - The model must answer with one strict JSON object; anything else is ignored.

use std::time::Duration;

use futures_util::StreamExt;
use healing_llm::{ChatRole, ChatTurn, CompletionRequest, LlmProvider};
use healing_protocol::RiskLevel;
use serde::Deserialize;

/// Longest wait for the second opinion.
pub const TIMEOUT: Duration = Duration::from_secs(10);

const PROMPT: &str = "You are a clinical risk screener. Grade the patient's latest message for suicide and \
self-harm risk on the C-SSRS screener: none; low (wish to be dead, non-specific suicidal thoughts); moderate \
(thinking about a method, or suicidal behaviour more than 3 months ago); high (intent, a plan, preparation or \
behaviour within 3 months, an attempt in progress, or someone else in imminent danger). Answer with ONLY one JSON \
object and nothing else: {\"level\":\"none|low|moderate|high\",\"reason\":\"<one short sentence>\"}";

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opinion {
    pub level: RiskLevel,
    pub reason: String,
}

/// Whether a message is worth a second opinion.
pub fn is_ambiguous(level: RiskLevel) -> bool {
    matches!(level, RiskLevel::Low | RiskLevel::Moderate)
}

/// Parses a strict answer: one JSON object, optionally inside a ``` fence, nothing else.
pub fn parse(answer: &str) -> Option<Opinion> {
    let t = answer.trim();
    let t = t.strip_prefix("```json").or_else(|| t.strip_prefix("```")).unwrap_or(t);
    let t = t.strip_suffix("```").unwrap_or(t).trim();
    let opinion: Opinion = serde_json::from_str(t).ok()?;
    let reason: String = opinion.reason.chars().take(200).collect();
    Some(Opinion { level: opinion.level, reason })
}

/// Asks the model; `None` on timeout, error, or a malformed answer.
pub async fn ask(llm: &dyn LlmProvider, text: &str, context: &[String]) -> Option<Opinion> {
    let mut turns: Vec<ChatTurn> = context.iter().map(|c| ChatTurn { role: ChatRole::User, text: c.clone() }).collect();
    turns.push(ChatTurn { role: ChatRole::User, text: text.to_owned() });
    let request = CompletionRequest { system: PROMPT.to_owned(), turns };
    let collect = async {
        let mut stream = llm.stream(request).await.ok()?;
        let mut answer = String::new();
        while let Some(delta) = stream.next().await {
            answer.push_str(&delta.ok()?);
            if answer.len() > 2000 {
                return None;
            }
        }
        Some(answer)
    };
    let answer = tokio::time::timeout(TIMEOUT, collect).await.ok()??;
    parse(&answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strict_json_is_accepted() {
        assert_eq!(
            parse(r#"{"level":"high","reason":"plan and means"}"#),
            Some(Opinion { level: RiskLevel::High, reason: "plan and means".into() })
        );
        assert!(parse("```json\n{\"level\":\"low\",\"reason\":\"x\"}\n```").is_some());
        assert!(parse("I think this is high risk").is_none());
        assert!(parse(r#"{"level":"extreme","reason":"x"}"#).is_none());
        assert!(parse(r#"{"level":"high"}"#).is_none());
        assert!(parse(r#"{"level":"high","reason":"x","lower_it":true}"#).is_none());
    }

    #[test]
    fn only_middle_levels_are_ambiguous() {
        assert!(!is_ambiguous(RiskLevel::None));
        assert!(is_ambiguous(RiskLevel::Low));
        assert!(is_ambiguous(RiskLevel::Moderate));
        assert!(!is_ambiguous(RiskLevel::High));
    }
}
