//! What the model is told: the companion's system prompt and the token-budgeted window of recent
//! turns.
//!
//! Why this file exists: every provider gets the same framing and the same bounded context, so the
//! safety instructions cannot drift between backends and a long conversation can never grow a
//! request (and its cost and latency) without bound.

use crate::provider::{ChatTurn, CompletionRequest};

/// The system prompt for the supportive companion. Kept provider-neutral and short enough to leave
/// most of a small model's context for the conversation. It names no crisis number: the deployment's
/// crisis catalogue supplies them ([`CompletionRequest::with_crisis_guidance`]), so a model is never
/// told another country's numbers.
pub const SYSTEM_PROMPT: &str = "\
You are the Healing Space companion, a supportive AI chat companion offered alongside an NHS-style \
mental health service. You are an AI, not a human, and not a doctor, nurse, therapist or any other \
clinician: say so plainly if asked, and never diagnose, prescribe or give medication advice.

How to respond:
- Be warm, calm and brief: usually two to four short sentences in plain UK English.
- Reflect what the person said in their own words and validate the feeling before anything else.
- Ask at most one open question at a time, and let the person lead.
- Where it fits, offer one simple, evidence-based self-help idea (for example paced breathing, \
5-4-3-2-1 grounding, noticing and reframing an unhelpful thought, one small manageable activity, \
setting aside a worry time, or a steady sleep routine). Offer it, never insist.
- Encourage the person to keep in touch with their care team, GP or another professional, \
especially if things are getting harder.
- Do not lecture, moralise, or promise outcomes. Do not role-play as anyone else.

Safety (this overrides everything else):
- Never give information about methods, means, amounts or ways of self-harm or suicide, even if \
asked directly, hypothetically, for a story, or for someone else.
- If the person mentions wanting to die, self-harm, being unsafe, or someone else being in danger, \
respond with care, take it seriously, and share the crisis options listed under \"Crisis options\" \
below (only those: never give a number from memory; if none are listed, urge them to contact the \
local emergency services). Encourage them to contact their care team too.
- Do not ask for or repeat personal identifying details.
- If you are unsure whether something is safe to say, do not say it; gently suggest speaking \
with a professional instead.";

/// Estimated tokens added per turn for the role and message framing.
pub const TURN_OVERHEAD_TOKENS: usize = 4;

/// A cheap, provider-independent token estimate: characters / 4, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// Estimated tokens one turn costs in the request, including [`TURN_OVERHEAD_TOKENS`].
pub fn turn_tokens(turn: &ChatTurn) -> usize {
    estimate_tokens(&turn.text) + TURN_OVERHEAD_TOKENS
}

/// Builds the request sent upstream: [`SYSTEM_PROMPT`] plus the most recent turns of `history`
/// (oldest first) whose estimated tokens fit in `token_budget`.
///
/// - The budget covers the turns only, not the system prompt.
/// - The last turn (the message being answered) is always included. If it alone exceeds the
///   budget its text is cut to fit (keeping the beginning, on a character boundary).
/// - Earlier turns are added newest to oldest and stop at the first one that does not fit, so the
///   window is always a contiguous tail of the conversation (no gaps).
///
/// [`CompletionRequest::context_turns`] tells how many earlier turns made it in.
pub fn build_request(history: &[ChatTurn], token_budget: usize) -> CompletionRequest {
    let Some((current, earlier)) = history.split_last() else {
        return CompletionRequest { system: SYSTEM_PROMPT.to_owned(), turns: Vec::new() };
    };

    let mut current = current.clone();
    let mut used = turn_tokens(&current);
    if used > token_budget {
        let max_chars = token_budget.saturating_sub(TURN_OVERHEAD_TOKENS) * 4;
        truncate_chars(&mut current.text, max_chars);
        used = turn_tokens(&current);
    }

    let mut kept = 0;
    for turn in earlier.iter().rev() {
        let cost = turn_tokens(turn);
        if used + cost > token_budget {
            break;
        }
        used += cost;
        kept += 1;
    }

    let mut turns = Vec::with_capacity(kept + 1);
    turns.extend_from_slice(&earlier[earlier.len() - kept..]);
    turns.push(current);
    CompletionRequest { system: SYSTEM_PROMPT.to_owned(), turns }
}

/// Cuts `text` to at most `max_chars` characters, on a character boundary.
fn truncate_chars(text: &mut String, max_chars: usize) {
    if let Some((byte_idx, _)) = text.char_indices().nth(max_chars) {
        text.truncate(byte_idx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatRole;

    fn turn(role: ChatRole, text: &str) -> ChatTurn {
        ChatTurn { role, text: text.to_owned() }
    }

    fn convo(n: usize, chars_each: usize) -> Vec<ChatTurn> {
        (0..n)
            .map(|i| {
                let role = if i % 2 == 0 { ChatRole::User } else { ChatRole::Assistant };
                let c = char::from(b'a' + (i % 26) as u8);
                turn(role, &c.to_string().repeat(chars_each))
            })
            .collect()
    }

    #[test]
    fn estimate_rounds_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        // Characters, not bytes.
        assert_eq!(estimate_tokens("éééé"), 1);
    }

    #[test]
    fn empty_history_gives_empty_turns() {
        let req = build_request(&[], 100);
        assert!(req.turns.is_empty());
        assert_eq!(req.context_turns(), 0);
        assert_eq!(req.system, SYSTEM_PROMPT);
    }

    #[test]
    fn everything_fits() {
        let history = convo(5, 8); // each turn: 2 + 4 = 6 tokens
        let req = build_request(&history, 1000);
        assert_eq!(req.turns, history);
        assert_eq!(req.context_turns(), 4);
    }

    #[test]
    fn keeps_most_recent_turns_oldest_first() {
        let history = convo(10, 8); // 6 tokens each
        let req = build_request(&history, 20); // 3 turns = 18, 4 turns = 24
        assert_eq!(req.turns.len(), 3);
        assert_eq!(req.turns, history[7..].to_vec());
        assert_eq!(req.context_turns(), 2);
        let last = req.turns.last().map(|t| t.text.clone());
        assert_eq!(last, Some("j".repeat(8)));
    }

    #[test]
    fn exact_fit_is_included() {
        let history = convo(4, 8); // 6 tokens each
        let req = build_request(&history, 18);
        assert_eq!(req.turns.len(), 3);
    }

    #[test]
    fn window_is_contiguous() {
        // A big turn in the middle blocks older, smaller turns from being added behind it.
        let mut history = convo(3, 4);
        history.insert(1, turn(ChatRole::Assistant, &"x".repeat(400)));
        let req = build_request(&history, 30);
        assert_eq!(req.turns, history[2..].to_vec());
    }

    #[test]
    fn current_turn_always_kept_and_truncated() {
        let mut history = convo(3, 8);
        history.push(turn(ChatRole::User, &"é".repeat(1000)));
        let req = build_request(&history, 54);
        assert_eq!(req.turns.len(), 1);
        assert_eq!(req.context_turns(), 0);
        let text = &req.turns[0].text;
        assert_eq!(text.chars().count(), 200);
        assert!(turn_tokens(&req.turns[0]) <= 54);
    }

    #[test]
    fn zero_budget_still_sends_current_turn() {
        let history = convo(3, 8);
        let req = build_request(&history, 0);
        assert_eq!(req.turns.len(), 1);
        assert_eq!(req.turns[0].role, ChatRole::User);
        assert!(req.turns[0].text.is_empty());
    }

    #[test]
    fn crisis_numbers_come_from_the_deployment_not_the_prompt() {
        assert!(SYSTEM_PROMPT.contains("not a doctor"));
        for uk in ["116 123", "111", "999", "85258", "Samaritans"] {
            assert!(!SYSTEM_PROMPT.contains(uk), "{uk} in the provider-neutral prompt");
        }
        let req = build_request(&[], 10).with_crisis_guidance("Pieta on 1800 247 247.\n");
        assert!(req.system.starts_with(SYSTEM_PROMPT));
        assert!(req.system.ends_with("Crisis options:\nPieta on 1800 247 247."), "{}", req.system);
    }
}
