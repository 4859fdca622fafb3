//! Client → server frames, parsed into a typed enum at the edge.
//!
//! Parsing is two-step so that errors can echo the frame's `ref`: first the envelope (`type`,
//! `ref`), then the body for that type. Unknown fields are ignored, as the contract requires.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Longest `client_msg_id` / id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest chat message accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest acknowledgement or resolution note, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// Largest history page.
pub const MAX_HISTORY_LIMIT: u32 = 200;
/// Default history page.
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;

/// A parsed client frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Hello { token: String },
    ChatSend { client_msg_id: String, conversation_id: Option<String>, text: String },
    ChatCancel { message_id: String },
    HistoryGet { conversation_id: String, before_seq: Option<i64>, limit: u32 },
    AlertAck { alert_id: String, note: Option<String> },
    EscalationClaim { escalation_id: String },
    EscalationResolve { escalation_id: String, note: String },
    FollowupDone { followup_id: String, note: Option<String> },
    Ping,
}

impl ClientFrame {
    /// The frame's `type` as written on the wire (for logs and metrics; bounded set).
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Hello { .. } => "hello",
            ClientFrame::ChatSend { .. } => "chat.send",
            ClientFrame::ChatCancel { .. } => "chat.cancel",
            ClientFrame::HistoryGet { .. } => "history.get",
            ClientFrame::AlertAck { .. } => "alert.ack",
            ClientFrame::EscalationClaim { .. } => "escalation.claim",
            ClientFrame::EscalationResolve { .. } => "escalation.resolve",
            ClientFrame::FollowupDone { .. } => "followup.done",
            ClientFrame::Ping => "ping",
        }
    }
}

/// Why a frame could not be parsed. Always answered with `invalid_request`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    /// The frame's `ref`, when it could be read.
    pub reference: Option<Value>,
    pub message: String,
}

#[derive(Deserialize)]
struct HelloBody {
    token: String,
}

#[derive(Deserialize)]
struct ChatSendBody {
    client_msg_id: String,
    #[serde(default)]
    conversation_id: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct ChatCancelBody {
    message_id: String,
}

#[derive(Deserialize)]
struct HistoryGetBody {
    conversation_id: String,
    #[serde(default)]
    before_seq: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize)]
struct AlertAckBody {
    alert_id: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct EscalationClaimBody {
    escalation_id: String,
}

#[derive(Deserialize)]
struct EscalationResolveBody {
    escalation_id: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct FollowupDoneBody {
    followup_id: String,
    #[serde(default)]
    note: Option<String>,
}

/// Parses one text frame. Returns the frame and its `ref` (echoed on replies).
pub fn parse_client_frame(text: &str) -> Result<(ClientFrame, Option<Value>), FrameError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| FrameError { reference: None, message: format!("malformed JSON: {e}") })?;
    let Value::Object(mut map) = value else {
        return Err(FrameError { reference: None, message: "a frame must be a JSON object".into() });
    };
    let reference = map.remove("ref").filter(|r| !r.is_null());
    let fail = |message: String| FrameError { reference: reference.clone(), message };
    let kind = match map.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(fail("`type` must be a string".into())),
        None => return Err(fail("missing field `type`".into())),
    };
    let body = Value::Object(map);
    let frame = match kind.as_str() {
        "hello" => {
            let b: HelloBody = body_of(body, &kind).map_err(fail)?;
            ClientFrame::Hello { token: b.token }
        }
        "chat.send" => {
            let b: ChatSendBody = body_of(body, &kind).map_err(fail)?;
            check_id("client_msg_id", &b.client_msg_id).map_err(fail)?;
            if let Some(c) = &b.conversation_id {
                check_id("conversation_id", c).map_err(fail)?;
            }
            if b.text.trim().is_empty() {
                return Err(fail("`text` must not be empty".into()));
            }
            if b.text.chars().count() > MAX_TEXT_CHARS {
                return Err(fail(format!("`text` is longer than {MAX_TEXT_CHARS} characters")));
            }
            ClientFrame::ChatSend { client_msg_id: b.client_msg_id, conversation_id: b.conversation_id, text: b.text }
        }
        "chat.cancel" => {
            let b: ChatCancelBody = body_of(body, &kind).map_err(fail)?;
            check_id("message_id", &b.message_id).map_err(fail)?;
            ClientFrame::ChatCancel { message_id: b.message_id }
        }
        "history.get" => {
            let b: HistoryGetBody = body_of(body, &kind).map_err(fail)?;
            check_id("conversation_id", &b.conversation_id).map_err(fail)?;
            let limit = b.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
            if limit == 0 || limit > MAX_HISTORY_LIMIT {
                return Err(fail(format!("`limit` must be between 1 and {MAX_HISTORY_LIMIT}")));
            }
            ClientFrame::HistoryGet { conversation_id: b.conversation_id, before_seq: b.before_seq, limit }
        }
        "alert.ack" => {
            let b: AlertAckBody = body_of(body, &kind).map_err(fail)?;
            check_id("alert_id", &b.alert_id).map_err(fail)?;
            check_note(b.note.as_deref()).map_err(fail)?;
            ClientFrame::AlertAck { alert_id: b.alert_id, note: b.note }
        }
        "escalation.claim" => {
            let b: EscalationClaimBody = body_of(body, &kind).map_err(fail)?;
            check_id("escalation_id", &b.escalation_id).map_err(fail)?;
            ClientFrame::EscalationClaim { escalation_id: b.escalation_id }
        }
        "escalation.resolve" => {
            let b: EscalationResolveBody = body_of(body, &kind).map_err(fail)?;
            check_id("escalation_id", &b.escalation_id).map_err(fail)?;
            check_note(b.note.as_deref()).map_err(fail)?;
            ClientFrame::EscalationResolve { escalation_id: b.escalation_id, note: b.note.unwrap_or_default() }
        }
        "followup.done" => {
            let b: FollowupDoneBody = body_of(body, &kind).map_err(fail)?;
            check_id("followup_id", &b.followup_id).map_err(fail)?;
            check_note(b.note.as_deref()).map_err(fail)?;
            ClientFrame::FollowupDone { followup_id: b.followup_id, note: b.note }
        }
        "ping" => ClientFrame::Ping,
        other => {
            let shown: String = other.chars().take(40).collect();
            return Err(fail(format!("unknown frame type `{shown}`")));
        }
    };
    Ok((frame, reference))
}

fn body_of<T: DeserializeOwned>(body: Value, kind: &str) -> Result<T, String> {
    serde_json::from_value(body).map_err(|e| format!("invalid `{kind}` frame: {e}"))
}

fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("`{field}` must be 1 to {MAX_ID_LEN} bytes"));
    }
    Ok(())
}

fn check_note(note: Option<&str>) -> Result<(), String> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            Err(format!("`note` is longer than {MAX_NOTE_CHARS} characters"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chat_send_and_keeps_ref() {
        let (f, r) =
            parse_client_frame(r#"{"type":"chat.send","ref":7,"client_msg_id":"a","text":"hi","extra":true}"#).unwrap();
        assert_eq!(r, Some(Value::from(7)));
        assert_eq!(f, ClientFrame::ChatSend { client_msg_id: "a".into(), conversation_id: None, text: "hi".into() });
    }

    #[test]
    fn errors_echo_ref() {
        let e = parse_client_frame(r#"{"type":"chat.send","ref":"x1","text":"hi"}"#).unwrap_err();
        assert_eq!(e.reference, Some(Value::from("x1")));
        assert!(e.message.contains("client_msg_id"), "{}", e.message);
    }

    #[test]
    fn rejects_malformed_unknown_and_wrong_types() {
        assert!(parse_client_frame("{nope").is_err());
        assert!(parse_client_frame("[1,2]").is_err());
        assert!(parse_client_frame(r#"{"ref":1}"#).unwrap_err().message.contains("type"));
        let e = parse_client_frame(r#"{"type":"launch.rockets","ref":2}"#).unwrap_err();
        assert!(e.message.contains("unknown"));
        assert!(parse_client_frame(r#"{"type":"chat.send","client_msg_id":5,"text":"x"}"#).is_err());
        assert!(parse_client_frame(r#"{"type":"chat.send","client_msg_id":"a","text":"  "}"#).is_err());
        assert!(parse_client_frame(r#"{"type":"history.get","conversation_id":"c","limit":500}"#).is_err());
    }
}
