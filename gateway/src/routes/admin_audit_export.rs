//! `GET /api/v1/admin/audit/export?from=&to=&format=csv|jsonl` (contract §4.9, admin): the
//! hash-chained audit log, oldest first, with `seq`, `prev_hash` and `hash` on every entry, so an
//! export can be checked on its own (`healing_storage::audit_chain`). `from` (inclusive) and `to`
//! (exclusive) are RFC 3339 times; either may be left out. The export itself is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, Role, Timestamp};
use healing_storage::{ChainQuery, ChainedEntry};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Entries read from the store per page of the streamed answer.
const PAGE: u32 = 2000;

#[derive(Deserialize)]
pub struct Query {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

fn time(name: &str, v: Option<&str>) -> ApiResult<Option<Timestamp>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s).map(|t| Some(t.to_utc())).map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("{name} must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"),
            )
        }),
    }
}

/// One CSV field: quoted when it holds a separator, quote or line break; formula-leading
/// characters are prefixed with `'` so a spreadsheet shows them as text.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv_row(e: &ChainedEntry) -> String {
    let x = &e.entry;
    let fields = [
        e.seq.to_string(),
        x.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        x.actor_id.clone().unwrap_or_default(),
        x.actor_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        x.action.clone(),
        x.target.clone(),
        x.remote_addr.clone().unwrap_or_default(),
        x.detail.clone().unwrap_or_default(),
        e.prev_hash.clone(),
        e.hash.clone(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<Query>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        None | Some("jsonl") => false,
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidRequest, "format must be csv or jsonl")),
    };
    let (from, to) = (time("from", query.from.as_deref())?, time("to", query.to.as_deref())?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "from must not be after to"));
    }
    let detail = format!(
        "format={} from={} to={}",
        if csv { "csv" } else { "jsonl" },
        query.from.as_deref().unwrap_or("-"),
        query.to.as_deref().unwrap_or("-")
    );
    crate::audit::record(&state, &req, &caller.user, "audit.export", "audit:log".into(), Some(detail)).await?;
    // Streamed a page at a time, so a long log never sits in memory whole.
    let store = state.services.store.clone();
    let header =
        csv.then(|| "seq,at,actor_id,actor_role,action,target,remote_addr,detail,prev_hash,hash\r\n".to_owned());
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        async move {
            let after_seq = after?;
            let page = match store.audit_chain(ChainQuery { after_seq, from, to, limit: PAGE }).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed part-way; the response is cut short");
                    return Some((Err(std::io::Error::other(e.to_string())), None));
                }
            };
            let next = (page.len() == PAGE as usize).then(|| page.last().map_or(after_seq, |e| e.seq));
            let mut chunk = String::new();
            for e in &page {
                if csv {
                    chunk.push_str(&csv_row(e));
                } else {
                    chunk.push_str(&serde_json::to_string(e).unwrap_or_default());
                    chunk.push('\n');
                }
            }
            if page.is_empty() {
                return None;
            }
            Some((Ok(web::Bytes::from(chunk)), next))
        }
    });
    let head = futures_util::stream::iter(header.map(|h| Ok::<_, std::io::Error>(web::Bytes::from(h))));
    let content_type = if csv { "text/csv; charset=utf-8" } else { "application/x-ndjson" };
    Ok(HttpResponse::Ok().content_type(content_type).streaming(futures_util::StreamExt::chain(head, pages)))
}
