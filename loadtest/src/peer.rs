//! `healing-load peer`: the chat subset of the wire contract on bare tokio-tungstenite — no auth,
//! no storage, no screening — the ceiling of the socket stack the gateway's clients use, for the
//! side-by-side comparison in docs/benchmarks.md (see loadtest/peers/README.md).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Serves until the process is stopped.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream));
    }
}

async fn connection(stream: TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut tx, mut rx) = ws.split();
    let mut seq = std::collections::HashMap::<String, i64>::new();
    while let Some(Ok(msg)) = rx.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
        let mut out = Vec::new();
        match frame["type"].as_str() {
            Some("hello") => out.push(json!({"type": "welcome", "user": {"id": "u", "username": "u", "role": "patient"}, "session_id": uuid::Uuid::new_v4().to_string(), "server_time": "1970-01-01T00:00:00Z"})),
            Some("ping") => out.push(json!({"type": "pong", "server_time": "1970-01-01T00:00:00Z", "ref": frame["ref"]})),
            Some("chat.send") => {
                let conv = frame["conversation_id"].as_str().map(str::to_owned).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let n = seq.entry(conv.clone()).or_insert(0);
                *n += 1;
                let (msg_id, reply_id) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
                out.push(json!({"type": "chat.ack", "client_msg_id": frame["client_msg_id"], "conversation_id": conv, "message_id": msg_id, "seq": *n, "ref": frame["ref"]}));
                out.push(json!({"type": "ai.start", "conversation_id": conv, "message_id": reply_id, "reply_to": msg_id}));
                for word in frame["text"].as_str().unwrap_or_default().split_inclusive(' ') {
                    out.push(json!({"type": "ai.delta", "message_id": reply_id, "text": word}));
                }
                *n += 1;
                out.push(json!({"type": "ai.end", "message_id": reply_id, "seq": *n, "finish": "stop", "conversation_id": conv}));
            }
            _ => out.push(json!({"type": "error", "code": "invalid_request", "message": "unsupported"})),
        }
        for v in out {
            if tx.send(Message::Text(v.to_string().into())).await.is_err() {
                return;
            }
        }
    }
}
