//! `build_request`: the budgeted context window, seen from outside the crate.

use healing_llm::context::{TURN_OVERHEAD_TOKENS, estimate_tokens};
use healing_llm::{ChatRole, ChatTurn, SYSTEM_PROMPT, build_request};

fn history(n: usize) -> Vec<ChatTurn> {
    (0..n)
        .map(|i| ChatTurn {
            role: if i % 2 == 0 { ChatRole::User } else { ChatRole::Assistant },
            text: format!("turn {i:03} text"), // 14 chars -> 4 tokens + overhead
        })
        .collect()
}

#[test]
fn budget_selects_recent_tail() {
    let per_turn = estimate_tokens("turn 000 text") + TURN_OVERHEAD_TOKENS;
    let h = history(50);
    let req = build_request(&h, per_turn * 10 + per_turn / 2);
    assert_eq!(req.system, SYSTEM_PROMPT);
    assert_eq!(req.turns.len(), 10);
    assert_eq!(req.context_turns(), 9);
    assert_eq!(req.turns[0].text, "turn 040 text");
    assert_eq!(req.turns[9].text, "turn 049 text");
}

#[test]
fn more_budget_never_means_fewer_turns() {
    let h = history(30);
    let mut last = 0;
    for budget in 0..400 {
        let n = build_request(&h, budget).turns.len();
        assert!(n >= last, "budget {budget}: {n} < {last}");
        assert!(n >= 1);
        last = n;
    }
    assert_eq!(last, 30);
}

#[test]
fn oversized_current_message_is_truncated_not_dropped() {
    let mut h = history(4);
    h.push(ChatTurn { role: ChatRole::User, text: "word ".repeat(2_000) });
    let req = build_request(&h, 100);
    assert_eq!(req.turns.len(), 1);
    let t = &req.turns[0];
    assert_eq!(t.role, ChatRole::User);
    assert!(estimate_tokens(&t.text) + TURN_OVERHEAD_TOKENS <= 100);
    assert!(t.text.starts_with("word word"));
}
