//! Conversations and messages.

use healing_protocol::{Author, ConversationSummary, Message, Risk, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use super::rows::{from_ms, json, ms, to_json, word};
use crate::error::{Result, StoreError};
use crate::store::{Appended, Conversation, NewMessage, Unscreened};

const MSG_COLS: &str = "id, conversation_id, seq, author, text, created_at, risk, finish, meta";

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        seq: r.get(2)?,
        author: word(3, r.get(3)?, Author::parse)?,
        text: r.get(4)?,
        created_at: from_ms(r.get(5)?),
        risk: json(6, r.get(6)?)?,
        finish: r.get(7)?,
        meta: json(8, r.get(8)?)?,
    })
}

fn conversation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        summary: ConversationSummary {
            id: r.get(0)?,
            started_at: from_ms(r.get(2)?),
            last_message_at: from_ms(r.get(3)?),
            chat_paused: r.get(4)?,
        },
    })
}

pub fn append_message(c: &Connection, m: &NewMessage, max_conversations: Option<u32>) -> Result<Appended> {
    if let Some(client_id) = &m.client_msg_id {
        let existing = c
            .query_row(
                &format!("SELECT {MSG_COLS} FROM messages WHERE patient_id = ?1 AND client_msg_id = ?2"),
                params![m.patient_id, client_id],
                message_row,
            )
            .optional()
            .map_err(db_err)?;
        if let Some(message) = existing {
            return Ok(Appended { message, duplicate: true, new_conversation: false });
        }
    }
    let now = super::rows::now();
    let (conversation_id, new_conversation) = match &m.conversation_id {
        Some(id) => {
            let owner: Option<String> = c
                .query_row("SELECT patient_id FROM conversations WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            if owner.as_deref() != Some(m.patient_id.as_str()) {
                return Err(StoreError::NotFound);
            }
            (id.clone(), false)
        }
        None => {
            // Inside the write transaction, and after the duplicate check above: exact, and a
            // retry of a message that started a conversation is still its duplicate.
            if let Some(max) = max_conversations {
                let have: i64 = c
                    .query_row("SELECT COUNT(*) FROM conversations WHERE patient_id = ?1", params![m.patient_id], |r| {
                        r.get(0)
                    })
                    .map_err(db_err)?;
                if have >= i64::from(max) {
                    return Err(StoreError::Limit(format!(
                        "the patient already has {have} conversations (at most {max})"
                    )));
                }
            }
            let id = uuid::Uuid::new_v4().to_string();
            c.execute(
                // A conversation started while the AI is paused for the patient starts paused.
                "INSERT INTO conversations (id, patient_id, started_at, last_message_at, chat_paused)
                 VALUES (?1, ?2, ?3, ?3, EXISTS (SELECT 1 FROM patient_pauses WHERE patient_id = ?2))",
                params![id, m.patient_id, ms(now)],
            )
            .map_err(db_err)?;
            (id, true)
        }
    };
    // Taking the seq from the conversation row inside the write transaction is what makes seqs
    // gap-free and unique: only one writer runs at a time, and a failed job rolls back its bump.
    let seq: i64 = c
        .query_row(
            "UPDATE conversations SET next_seq = next_seq + 1, last_message_at = ?2 WHERE id = ?1 RETURNING next_seq - 1",
            params![conversation_id, ms(now)],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let message = Message {
        id: m.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        conversation_id,
        seq,
        author: m.author,
        text: m.text.clone(),
        created_at: now,
        risk: m.risk.clone(),
        finish: m.finish.clone(),
        meta: m.meta.clone(),
    };
    c.prepare_cached(
        "INSERT INTO messages (id, conversation_id, seq, patient_id, client_msg_id, author, text, created_at, risk, finish, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut st| {
        st.execute(params![
            message.id,
            message.conversation_id,
            message.seq,
            m.patient_id,
            m.client_msg_id,
            message.author.as_str(),
            message.text,
            ms(message.created_at),
            message.risk.as_ref().map(to_json),
            message.finish,
            message.meta.as_ref().map(to_json),
        ])
    })
    .map_err(|e| match db_err(e) {
        StoreError::Internal(s) if s.contains("UNIQUE") => StoreError::Conflict("message id already used".into()),
        other => other,
    })?;
    Ok(Appended { message, duplicate: false, new_conversation })
}

pub fn conversation(c: &Connection, id: &str) -> Result<Option<Conversation>> {
    c.query_row(
        "SELECT id, patient_id, started_at, last_message_at, chat_paused FROM conversations WHERE id = ?1",
        params![id],
        conversation_row,
    )
    .optional()
    .map_err(db_err)
}

pub fn conversations_of(c: &Connection, patient_id: &str) -> Result<Vec<ConversationSummary>> {
    let mut st = c
        .prepare_cached(
            "SELECT id, patient_id, started_at, last_message_at, chat_paused FROM conversations
             WHERE patient_id = ?1 ORDER BY last_message_at DESC, id",
        )
        .map_err(db_err)?;
    let rows = st.query_map(params![patient_id], conversation_row).map_err(db_err)?;
    rows.map(|r| r.map(|c| c.summary)).collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn messages(c: &Connection, conversation_id: &str, before_seq: Option<i64>, limit: u32) -> Result<Vec<Message>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {MSG_COLS} FROM messages WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        ))
        .map_err(db_err)?;
    let rows =
        st.query_map(params![conversation_id, before_seq.unwrap_or(i64::MAX), limit], message_row).map_err(db_err)?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?;
    out.reverse();
    Ok(out)
}

pub fn message(c: &Connection, id: &str) -> Result<Option<Message>> {
    c.query_row(&format!("SELECT {MSG_COLS} FROM messages WHERE id = ?1"), params![id], message_row)
        .optional()
        .map_err(db_err)
}

pub fn set_message_risk(c: &Connection, id: &str, risk: &Risk) -> Result<()> {
    let n = c.execute("UPDATE messages SET risk = ?2 WHERE id = ?1", params![id, to_json(risk)]).map_err(db_err)?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub fn unscreened_messages(c: &Connection, created_before: Timestamp, limit: u32) -> Result<Vec<Unscreened>> {
    // Served by the partial index `messages_unscreened` (migration 0002): only unscreened rows.
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {MSG_COLS}, patient_id FROM messages
             WHERE risk IS NULL AND author = 'patient' AND created_at < ?1
             ORDER BY created_at LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = st
        .query_map(params![ms(created_before), limit], |r| {
            Ok(Unscreened { message: message_row(r)?, patient_id: r.get(9)? })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn set_chat_paused(c: &Connection, id: &str, paused: bool) -> Result<()> {
    let n =
        c.execute("UPDATE conversations SET chat_paused = ?2 WHERE id = ?1", params![id, paused]).map_err(db_err)?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
