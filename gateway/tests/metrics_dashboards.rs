//! The Grafana dashboards (`grafana/**/*.json`) may only query series this server exports: every
//! `healing_*` name they mention must appear on the real binary's `/metrics` (histograms also as
//! `_bucket`, `_sum`, `_count`), and every `label="value"` they select on must exist for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::Server;
use serde_json::Value;

/// Every string in a JSON document, decoded (so selectors read `op="x"`, not `op=\"x\"`).
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// `healing_*` identifiers in `text`, each with the `key="value"` pairs of a selector right after it.
fn series_refs(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("healing_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(tail.len());
        let name = tail[..end].to_owned();
        let mut labels = Vec::new();
        if let Some(sel) = tail[end..].strip_prefix('{') {
            let sel = &sel[..sel.find('}').unwrap_or(sel.len())];
            for pair in sel.split(',') {
                // Equality matchers only (`=~`, `!=`, `!~` select patterns, not values).
                if let Some((k, v)) = pair.split_once('=')
                    && !k.ends_with('!')
                    && !v.starts_with('~')
                {
                    labels.push((k.trim().to_owned(), v.trim().trim_matches('"').to_owned()));
                }
            }
        }
        out.push((name, labels));
        rest = &tail[end..];
    }
    out
}

/// Exported series names (with histogram suffixes) → label pairs seen on them.
fn exported(metrics: &str) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for line in metrics.lines() {
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            let mut parts = decl.split_whitespace();
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            out.entry(name.to_owned()).or_default();
            if kind == "histogram" || kind == "summary" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    out.entry(format!("{name}{suffix}")).or_default();
                }
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..name_end].to_owned()).or_default();
        if let Some(sel) = line[name_end..].strip_prefix('{') {
            for pair in sel[..sel.find('}').unwrap()].split(',') {
                if let Some((k, v)) = pair.split_once('=') {
                    labels.insert((k.to_owned(), v.trim_matches('"').to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn selector_parsing() {
    let refs = series_refs(r#"sum(rate(healing_x_total{instance=~"$i",kind="a"}[5m])) / healing_y"#);
    assert_eq!(refs[0], ("healing_x_total".into(), vec![("kind".into(), "a".into())]));
    assert_eq!(refs[1], ("healing_y".into(), vec![]));
}

#[tokio::test]
async fn dashboards_only_query_exported_series() {
    let grafana = Path::new(env!("CARGO_MANIFEST_DIR")).join("../grafana");
    let mut files = Vec::new();
    json_files(&grafana, &mut files);
    assert!(files.len() >= 4, "expected the four dashboards under {}", grafana.display());

    let server = Server::start(&[]);
    let body = common::http().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let exported = exported(&body);

    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let dash: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let panels = dash["panels"].as_array().unwrap_or_else(|| panic!("{}: no panels", file.display()));
        assert!(!panels.is_empty(), "{}", file.display());
        for p in panels {
            assert_eq!(p["datasource"]["uid"], "prometheus", "{}: panel {}", file.display(), p["title"]);
            for t in p["targets"].as_array().unwrap() {
                assert!(t["expr"].as_str().is_some_and(|e| e.contains("healing_")), "{}: {t}", file.display());
            }
        }
        let mut texts = Vec::new();
        strings(&dash, &mut texts);
        let refs: Vec<_> = texts.iter().flat_map(|t| series_refs(t)).collect();
        // Nothing outside strings (keys, numbers) may name a series either.
        let raw_names = series_refs(&text).len();
        assert_eq!(raw_names, refs.len(), "{}: a healing_ name outside a JSON string", file.display());
        assert!(!refs.is_empty(), "{} queries nothing", file.display());
        for (name, labels) in refs {
            match exported.get(&name) {
                None => problems.push(format!("{}: {name} is not exported", file.display())),
                Some(seen) => {
                    for (k, v) in labels {
                        if !seen.contains(&(k.clone(), v.clone())) {
                            problems.push(format!("{}: {name}{{{k}=\"{v}\"}} never exported", file.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "dashboards query series the server does not export:\n{}", problems.join("\n"));
}
