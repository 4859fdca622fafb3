//! Server → client frames and the error codes of the contract.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Alert, CrisisResource, Escalation, Followup, Message, RiskLevel, Role, Timestamp};

/// Error codes of the contract; each maps to one HTTP status and is used on the socket as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    RateLimited,
    Unavailable,
    Internal,
    /// HTTP only (added in v1.1): a new password is too short or too common (400).
    WeakPassword,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::WeakPassword => "weak_password",
        }
    }

    /// The HTTP status for this code — the one place that mapping lives.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
            ErrorCode::WeakPassword => 400,
        }
    }
}

/// The configured caps that can refuse a request. The name is the `limit` of the error (socket
/// frame or HTTP body) and the `cap` label of `healing_cap_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cap {
    /// `--max-sockets-per-user`: sockets of one account on one node.
    SocketsPerUser,
    /// `--max-sockets-per-ip`: sockets from one remote address on one node.
    SocketsPerIp,
    /// `--max-unauthenticated-sockets`: sockets upgraded but not yet authenticated, node-wide.
    UnauthenticatedSockets,
    /// `--max-conversations-per-patient`: conversations one patient may have.
    ConversationsPerPatient,
}

impl Cap {
    pub const ALL: [Cap; 4] =
        [Cap::SocketsPerUser, Cap::SocketsPerIp, Cap::UnauthenticatedSockets, Cap::ConversationsPerPatient];

    pub fn as_str(self) -> &'static str {
        match self {
            Cap::SocketsPerUser => "sockets_per_user",
            Cap::SocketsPerIp => "sockets_per_ip",
            Cap::UnauthenticatedSockets => "unauthenticated_sockets",
            Cap::ConversationsPerPatient => "conversations_per_patient",
        }
    }

    /// The contract code a refusal answers: socket caps are `rate_limited` (429; waiting for a
    /// socket to close helps), the conversation cap is `conflict` (409; waiting does not — the
    /// patient continues one of their conversations).
    pub fn code(self) -> ErrorCode {
        match self {
            Cap::SocketsPerUser | Cap::SocketsPerIp | Cap::UnauthenticatedSockets => ErrorCode::RateLimited,
            Cap::ConversationsPerPatient => ErrorCode::Conflict,
        }
    }
}

/// The user as shown in `welcome`.
#[derive(Debug, Clone, Serialize)]
pub struct WelcomeUser {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub display_name: String,
}

/// Frames the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    #[serde(rename = "welcome")]
    Welcome {
        user: WelcomeUser,
        session_id: String,
        server_time: Timestamp,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    #[serde(rename = "chat.ack")]
    ChatAck {
        client_msg_id: String,
        conversation_id: String,
        message_id: String,
        seq: i64,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    #[serde(rename = "safety")]
    Safety {
        level: RiskLevel,
        message: String,
        resources: Vec<CrisisResource>,
        chat_paused: bool,
        conversation_id: String,
    },
    #[serde(rename = "ai.start")]
    AiStart { conversation_id: String, message_id: String, reply_to: String },
    #[serde(rename = "ai.delta")]
    AiDelta { message_id: String, text: String },
    #[serde(rename = "ai.end")]
    AiEnd {
        message_id: String,
        seq: i64,
        finish: &'static str,
        conversation_id: String,
        /// A calm explanation for the patient when the reply could not be completed.
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    #[serde(rename = "history")]
    History {
        conversation_id: String,
        messages: Vec<Message>,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    #[serde(rename = "alert")]
    Alert { alert: Alert },
    #[serde(rename = "alert.updated")]
    AlertUpdated { alert: Alert },
    #[serde(rename = "escalation")]
    Escalation { escalation: Escalation },
    #[serde(rename = "escalation.updated")]
    EscalationUpdated { escalation: Escalation },
    #[serde(rename = "followup")]
    Followup { followup: Followup },
    #[serde(rename = "followup.updated")]
    FollowupUpdated { followup: Followup },
    #[serde(rename = "conversation.resumed")]
    ConversationResumed { conversation_id: String },
    #[serde(rename = "pong")]
    Pong {
        server_time: Timestamp,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
    #[serde(rename = "error")]
    Error {
        code: ErrorCode,
        message: String,
        /// Which configured cap refused the request (`sockets_per_user`, `conversations_per_patient`,
        /// …), when one did; the cap's value is in `max`.
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>, reference: Option<Value>) -> ServerFrame {
        ServerFrame::Error { code, message: message.into(), limit: None, max: None, reference }
    }

    /// An error caused by a configured cap: also names the cap and its value, so a client can
    /// tell "close a tab" from "continue an existing conversation" without parsing the message.
    pub fn limit_error(cap: Cap, message: impl Into<String>, max: u64, reference: Option<Value>) -> ServerFrame {
        ServerFrame::Error {
            code: cap.code(),
            message: message.into(),
            limit: Some(cap.as_str()),
            max: Some(max),
            reference,
        }
    }

    /// Serialises the frame. Serialising these types cannot fail (no maps with non-string keys),
    /// but if it ever did the client gets an `internal` error instead of nothing.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"could not encode a frame"}"#.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_use_dotted_type_names_and_ref() {
        let f = ServerFrame::ChatAck {
            client_msg_id: "c".into(),
            conversation_id: "v".into(),
            message_id: "m".into(),
            seq: 1,
            reference: Some(Value::from("r")),
        };
        let v: Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(v["type"], "chat.ack");
        assert_eq!(v["ref"], "r");
        let e = ServerFrame::error(ErrorCode::TooLarge, "x", None).to_json();
        assert!(e.contains(r#""code":"too_large""#) && !e.contains("ref"));
        assert!(!e.contains("limit") && !e.contains("max"), "{e}");
        let capped: Value = serde_json::from_str(
            &ServerFrame::limit_error(Cap::ConversationsPerPatient, "full", 3, Some(Value::from(7))).to_json(),
        )
        .unwrap();
        assert_eq!(capped["code"], "conflict");
        assert_eq!(capped["limit"], "conversations_per_patient");
        assert_eq!(capped["max"], 3);
        assert_eq!(capped["ref"], 7);
    }
}
