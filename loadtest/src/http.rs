//! The few REST calls provisioning needs (JSON over plain HTTP, bearer auth).

use std::time::Duration;

use serde_json::Value;

use crate::error::LoadError;

pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Result<Api, LoadError> {
        // reqwest is built with rustls without a default provider; install ring's once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| LoadError::setup(format!("http client: {e}")))?;
        Ok(Api { client, base: base.trim_end_matches('/').to_owned() })
    }

    /// POSTs JSON; returns the status and the JSON body (Null when empty). A 429 or 503 is retried
    /// a few times after `Retry-After` (or 1 s).
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<(u16, Value), LoadError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            let mut req = self.client.post(&url).json(body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.map_err(|e| LoadError::setup(format!("POST {path}: {e}")))?;
            let status = resp.status().as_u16();
            if (status == 429 || status == 503) && attempt < 5 {
                attempt += 1;
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait.min(30))).await;
                continue;
            }
            let text = resp.text().await.map_err(|e| LoadError::setup(format!("POST {path}: {e}")))?;
            let json =
                if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
            return Ok((status, json));
        }
    }
}
