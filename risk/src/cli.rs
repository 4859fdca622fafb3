//! Command-line front ends used by `healing-space risk …`.

use crate::engine::assess;
use crate::eval::metrics;
use crate::level::Level;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

#[derive(Serialize)]
struct Verdict<'a> {
    id: &'a Value,
    level: &'static str,
    score: f32,
    reasons: Vec<String>,
}

#[derive(Serialize)]
struct LineError<'a> {
    id: &'a Value,
    error: String,
}

/// Parses one input line into `(id, text, context)`, or `(id, error)`.
fn parse_line(line: &str) -> Result<(Value, String, Vec<String>), (Value, String)> {
    let v: Value = serde_json::from_str(line).map_err(|e| (Value::Null, format!("invalid JSON: {e}")))?;
    let Value::Object(mut obj) = v else {
        return Err((Value::Null, "expected a JSON object".to_owned()));
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    let text = match obj.remove("text") {
        Some(Value::String(s)) => s,
        Some(_) => return Err((id, "\"text\" must be a string".to_owned())),
        None => return Err((id, "missing \"text\"".to_owned())),
    };
    // Optional extension: earlier messages of the same patient, oldest first.
    let context = match obj.remove("context") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        Some(_) => return Err((id, "\"context\" must be an array of strings".to_owned())),
    };
    Ok((id, text, context))
}

/// `healing-space risk classify`: reads JSON Lines `{"id","text"}` from `input`, writes one line
/// `{"id","level","score","reasons":[strings]}` per input line in input order, nothing else.
/// Exactly one output line per input line (PROTOCOL §3): a malformed line — bad JSON, missing or
/// non-string text, or a blank line — yields `{"id":null,"error":"..."}` (the error names the id
/// when one could be read) and processing continues.
pub fn classify(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        let parsed = if line.is_empty() { Err((Value::Null, "empty line".to_owned())) } else { parse_line(line) };
        match parsed {
            Ok((id, text, context)) => {
                let ctx: Vec<&str> = context.iter().map(String::as_str).collect();
                let a = assess(&text, &ctx);
                let v = Verdict {
                    id: &id,
                    level: a.level.as_str(),
                    score: (a.score * 1000.0).round() / 1000.0,
                    reasons: a.reason_strings(),
                };
                serde_json::to_writer(&mut output, &v)?;
            }
            Err((id, error)) => {
                let error = if id.is_null() { error } else { format!("line with id {id}: {error}") };
                serde_json::to_writer(&mut output, &LineError { id: &Value::Null, error })?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()
}

fn id_key(v: &Value) -> String {
    match v {
        Value::String(s) => format!("s:{s}"),
        other => format!("j:{other}"),
    }
}

/// `healing-space risk eval FILE.jsonl`: runs [`assess`] on each gold row `{"id","text","level"}`
/// and returns the metrics JSON object exactly as `score.py` prints it.
pub fn eval_file(path: &Path) -> Result<String, String> {
    let data = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut gold = Vec::new();
    let mut pred = HashMap::new();
    for (no, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: invalid JSON: {e}", path.display(), no + 1))?;
        let id = id_key(v.get("id").unwrap_or(&Value::Null));
        let level = v
            .get("level")
            .and_then(Value::as_str)
            .and_then(|s| Level::parse(s).filter(|l| l.as_str() == s))
            .ok_or_else(|| format!("{}:{}: missing or unknown \"level\"", path.display(), no + 1))?;
        let text = v
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}:{}: missing \"text\"", path.display(), no + 1))?;
        pred.insert(id.clone(), assess(text, &[]).level.as_str().to_owned());
        gold.push((id, level));
    }
    Ok(metrics(&gold, &pred).to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        classify(input.as_bytes(), &mut out).expect("in-memory io");
        String::from_utf8(out)
            .expect("utf-8 output")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
            .collect()
    }

    #[test]
    fn classify_in_order_with_malformed_lines() {
        let input = concat!(
            "{\"id\":\"a\",\"text\":\"I want to kill myself tonight\"}\n",
            "\n",
            "not json\n",
            "{\"id\":\"b\"}\n",
            "{\"id\":7,\"text\":42}\n",
            "[1,2]\n",
            "   \n",
            "{\"id\":\"c\",\"text\":\"I could murder a pizza\"}"
        );
        let out = run(input);
        assert_eq!(out.len(), 8, "one output line per input line");
        assert_eq!(out[0]["id"], "a");
        assert_eq!(out[0]["level"], "high");
        assert!(out[0]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
        for (i, f) in out.iter().enumerate().take(7).skip(1) {
            assert!(f["id"].is_null() && f["error"].is_string(), "line {i}: {f}");
            assert!(f.get("level").is_none());
        }
        assert!(out[3]["error"].as_str().is_some_and(|e| e.contains("\"b\"") && e.contains("text")));
        assert!(out[4]["error"].as_str().is_some_and(|e| e.contains('7')));
        assert_eq!(out[7]["id"], "c");
        assert_eq!(out[7]["level"], "none");
        assert_eq!(out[7]["reasons"], serde_json::json!([]));
    }

    #[test]
    fn classify_output_keys_in_order() {
        let mut out = Vec::new();
        classify("{\"id\":\"x\",\"text\":\"hello\"}\n".as_bytes(), &mut out).expect("io");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "{\"id\":\"x\",\"level\":\"none\",\"score\":0.0,\"reasons\":[]}\n"
        );
    }
}
