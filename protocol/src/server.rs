//! Server → client frames and the error codes of the contract.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Alert, CrisisResource, Escalation, Message, RiskLevel, Role, Timestamp};

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
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
    },
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>, reference: Option<Value>) -> ServerFrame {
        ServerFrame::Error { code, message: message.into(), reference }
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
    }
}
