//! `cargo run --release -p healing-risk --example embed [WEIGHTS TOKENIZER] < in.jsonl > out.jsonl`
//!
//! Writes `{"id", "emb": [384 floats], "max": [384 floats]}` (mean-pooled unit embedding, and
//! the maximum over word pieces) per `{"id", "text"}` line: the embeddings that
//! `risk/train/train_semantic.py` trains the heads on (the very code the detector runs, so the
//! Rust detector and the training code see identical vectors). With two arguments, uses that
//! safetensors file and tokenizer instead of the shipped ones (to compare int8 with upstream f32).
//! With `--fold`, writes `{"id", "folded"}` only: the text as the detector reads it.
#![allow(clippy::expect_used, reason = "development tool")]
use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--fold") {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for line in std::io::stdin().lock().lines() {
            let line = line.expect("stdin");
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
            let folded = healing_risk::fold_for_model(v["text"].as_str().expect("text"));
            writeln!(out, "{}", serde_json::json!({"id": v["id"], "folded": folded})).expect("stdout");
        }
        return;
    }
    let enc = if args.len() == 2 {
        let w = std::fs::read(&args[0]).expect("weights");
        let t = std::fs::read(&args[1]).expect("tokenizer");
        healing_risk::encoder::Encoder::from_bytes(&w, &t).expect("encoder")
    } else {
        healing_risk::encoder::Encoder::embedded().expect("encoder")
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
        let text = healing_risk::fold_for_model(v["text"].as_str().expect("text"));
        let (emb, max) = enc.embed_mean_max(&text).expect("embed");
        let emb: Vec<f64> = emb.iter().map(|&x| f64::from(x)).collect();
        let max: Vec<f64> = max.iter().map(|&x| f64::from(x)).collect();
        writeln!(out, "{}", serde_json::json!({"id": v["id"], "emb": emb, "max": max})).expect("stdout");
    }
}
