//! The semantic detector: the sentence encoder ([`crate::encoder`]) plus three ordinal logistic
//! heads — P(level ≥ low), P(level ≥ moderate), P(level = high) — over the sentence embedding, the
//! normalised element-wise maximum of the word-piece states, and binary word unigrams/bigrams, trained by `risk/train/train_semantic.py` on the dev posts and the
//! project's chat data and shipped in `risk/model/heads.json`.
//!
//! The engine takes `max(rules, model)`: the model can only raise a level. Its reason names the
//! sentence that drove the grade (the sentence of the message the firing head scores highest) and
//! the C-SSRS item whose training messages that sentence is closest to (cosine to per-item
//! centroids).
//!
//! `words` must stay identical to `words()` in the training script; `tests/semantic_parity.rs`
//! checks that this code reproduces the training code's scores.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::encoder::{DIM, Encoder};
use crate::level::Level;

static HEADS: &str = include_str!("../model/heads.json");

/// The readable item of each prototype the training script writes (by its label).
const ITEMS: &[(&str, &str)] = &[
    ("attempt in progress", "Model, C-SSRS 6: resembles an attempt in progress"),
    ("plan or means with a time", "Model, C-SSRS 5: resembles a plan or means with a time"),
    ("suicidal intent", "Model, C-SSRS 4: resembles suicidal intent"),
    ("farewell or final arrangements", "Model, C-SSRS 6: resembles a farewell or final arrangements"),
    ("preparation or recent behaviour", "Model, C-SSRS 6: resembles preparation or recent suicidal behaviour"),
    ("someone else in imminent danger", "Model: resembles someone else in imminent danger"),
    ("thinking about a method", "Model, C-SSRS 3: resembles thinking about a method"),
    ("past suicidal behaviour", "Model, C-SSRS 6: resembles suicidal behaviour more than 3 months ago"),
    ("wish to be dead", "Model, C-SSRS 1: resembles a wish to be dead"),
    ("suicidal thoughts", "Model, C-SSRS 2: resembles non-specific suicidal thoughts"),
    ("self-harm", "Model: resembles self-harm"),
];
const FALLBACK: [&str; 4] = [
    "Model: no risk",
    "Model: language typical of low risk",
    "Model: language typical of moderate risk",
    "Model: language typical of high risk",
];

/// Why the detector could not be built (only if the shipped files are damaged).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Encoder(#[from] crate::encoder::EncoderError),
    #[error("risk/model/heads.json: {0}")]
    Heads(String),
}

#[derive(serde::Deserialize)]
struct HeadFile {
    dim: usize,
    vocab: Vec<String>,
    heads: Vec<HeadJson>,
    thresholds: Vec<f64>,
    /// Texts of at least this many words (after folding) take `thresholds_long`.
    long_words: usize,
    thresholds_long: Vec<f64>,
    prototypes: Vec<ProtoJson>,
}

#[derive(serde::Deserialize)]
struct HeadJson {
    embedding: Vec<f64>,
    /// Weights of the L2-normalised element-wise maximum of the word-piece states.
    max: Vec<f64>,
    words: Vec<f64>,
    bias: f64,
}

#[derive(serde::Deserialize)]
struct ProtoJson {
    label: String,
    level: Level,
    centroid: Vec<f32>,
}

struct Prototype {
    item: &'static str,
    level: Level,
    centroid: Vec<f32>,
}

/// The loaded detector.
pub struct Semantic {
    encoder: Encoder,
    vocab: HashMap<String, usize>,
    heads: Vec<HeadJson>,
    thresholds: [f64; 3],
    long_words: usize,
    thresholds_long: [f64; 3],
    prototypes: Vec<Prototype>,
}

/// The model's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub level: Level,
    /// Logits of the three heads (≥ low, ≥ moderate, high).
    pub scores: [f64; 3],
}

static DETECTOR: LazyLock<Result<Semantic, String>> = LazyLock::new(|| Semantic::load().map_err(|e| e.to_string()));

/// The process-wide detector, loaded on first use.
pub fn detector() -> Result<&'static Semantic, &'static str> {
    DETECTOR.as_ref().map_err(String::as_str)
}

impl Semantic {
    fn load() -> Result<Semantic, LoadError> {
        let encoder = Encoder::embedded()?;
        let f: HeadFile = serde_json::from_str(HEADS).map_err(|e| LoadError::Heads(e.to_string()))?;
        let bad = |m: &str| LoadError::Heads(m.to_string());
        if f.dim != DIM || f.heads.len() != 3 || f.thresholds.len() != 3 || f.thresholds_long.len() != 3 {
            return Err(bad("expected three heads and thresholds over a 384-d embedding"));
        }
        if f.heads.iter().any(|h| h.embedding.len() != DIM || h.max.len() != DIM || h.words.len() != f.vocab.len()) {
            return Err(bad("head sizes do not match the vocabulary and embedding"));
        }
        let mut prototypes = Vec::new();
        for p in f.prototypes {
            let item = ITEMS
                .iter()
                .find(|(l, _)| *l == p.label)
                .map(|(_, i)| *i)
                .ok_or_else(|| LoadError::Heads(format!("unknown prototype {:?}", p.label)))?;
            if p.centroid.len() != DIM {
                return Err(bad("prototype size"));
            }
            prototypes.push(Prototype { item, level: p.level, centroid: p.centroid });
        }
        let vocab = f.vocab.into_iter().enumerate().map(|(i, w)| (w, i)).collect();
        let thresholds = [f.thresholds[0], f.thresholds[1], f.thresholds[2]];
        let thresholds_long = [f.thresholds_long[0], f.thresholds_long[1], f.thresholds_long[2]];
        Ok(Semantic {
            encoder,
            vocab,
            heads: f.heads,
            thresholds,
            long_words: f.long_words,
            thresholds_long,
            prototypes,
        })
    }

    /// Scores a text that has already been folded ([`crate::fold_for_model`]).
    pub fn predict(&self, folded: &str) -> Result<(Verdict, Vec<f32>), crate::encoder::EncoderError> {
        let (emb, max) = self.encoder.embed_mean_max(folded)?;
        Ok((self.verdict(&emb, &unit(max), folded), emb))
    }

    /// [`Semantic::predict`] of several folded texts in one pass of the encoder.
    pub fn predict_batch(&self, folded: &[&str]) -> Result<Vec<(Verdict, Vec<f32>)>, crate::encoder::EncoderError> {
        let embs = self.encoder.embed_batch(folded)?;
        Ok(folded.iter().zip(embs).map(|(t, (emb, max))| (self.verdict(&emb, &unit(max), t), emb)).collect())
    }

    fn verdict(&self, emb: &[f32], max: &[f32], folded: &str) -> Verdict {
        let scores = self.scores(emb, max, folded);
        // Long texts (forum-post length) have their own operating point: their scores sit apart
        // from a chat message's (the training script's `LONG_WORDS`).
        let thresholds =
            if folded.split_whitespace().count() >= self.long_words { &self.thresholds_long } else { &self.thresholds };
        // Ordinal: a level counts only when every head below it clears its threshold too.
        let mut level = Level::None;
        for (k, lvl) in [Level::Low, Level::Moderate, Level::High].into_iter().enumerate() {
            if scores[k] <= thresholds[k] {
                break;
            }
            level = lvl;
        }
        Verdict { level, scores }
    }

    fn scores(&self, emb: &[f32], max: &[f32], folded: &str) -> [f64; 3] {
        let feats: Vec<usize> = words(folded).iter().filter_map(|w| self.vocab.get(w.as_str()).copied()).collect();
        let value = if feats.is_empty() { 0.0 } else { 1.0 / (feats.len() as f64).sqrt() };
        let mut out = [0.0; 3];
        for (k, h) in self.heads.iter().enumerate() {
            let e: f64 = h.embedding.iter().zip(emb).map(|(w, &x)| w * f64::from(x)).sum::<f64>()
                + h.max.iter().zip(max).map(|(w, &x)| w * f64::from(x)).sum::<f64>();
            let w: f64 = feats.iter().map(|&i| h.words[i]).sum::<f64>() * value;
            out[k] = e + w + h.bias;
        }
        out
    }

    /// The reason for a model-driven `level`: the sentence of `original` that the head of that
    /// level scores highest, and the item of the nearest prototype of that level.
    pub fn reason(&self, original: &str, level: Level, whole: &[f32]) -> (&'static str, String) {
        let k = usize::from(level.rank().saturating_sub(1)).min(2);
        let sentences = split_sentences(original);
        let mut best: (f64, &str, Option<Vec<f32>>) = (f64::NEG_INFINITY, original, None);
        if sentences.len() > 1 {
            for s in sentences.iter().take(12) {
                let folded = crate::fold_for_model(s);
                if let Ok((e, m)) = self.encoder.embed_mean_max(&folded) {
                    let sc = self.scores(&e, &unit(m), &folded)[k];
                    if sc > best.0 {
                        best = (sc, s, Some(e));
                    }
                }
            }
        }
        let emb = best.2.as_deref().unwrap_or(whole);
        let item = self
            .prototypes
            .iter()
            .filter(|p| p.level == level)
            .map(|p| (p.centroid.iter().zip(emb).map(|(a, b)| a * b).sum::<f32>(), p.item))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(FALLBACK[usize::from(level.rank())], |(_, i)| i);
        (item, best.1.trim().to_string())
    }
}

/// `v` scaled to unit length (as the training code normalises the max-pooled states).
fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Sentences of a message: split after `.`, `!`, `?` and at line breaks.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '\n') {
            let end = i + c.len_utf8();
            if text[start..end].chars().any(char::is_alphanumeric) {
                out.push(&text[start..end]);
            }
            start = end;
        }
    }
    if text[start..].chars().any(char::is_alphanumeric) {
        out.push(&text[start..]);
    }
    out
}

/// Word unigrams and bigrams: ASCII letters lowercased, a run of digits is `0`, apostrophes
/// (`'`, `’`) dropped, anything else separates.
pub fn words(text: &str) -> Vec<String> {
    let mut toks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    let flush = |cur: &mut String, toks: &mut Vec<String>| {
        if !cur.is_empty() {
            toks.push(std::mem::take(cur));
        }
    };
    for ch in text.chars() {
        if ch == '\'' || ch == '\u{2019}' {
            continue;
        }
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_lowercase() {
            if digits {
                flush(&mut cur, &mut toks);
                digits = false;
            }
            cur.push(c);
        } else if c.is_ascii_digit() {
            if !digits {
                flush(&mut cur, &mut toks);
                cur.push('0');
                digits = true;
            }
        } else {
            flush(&mut cur, &mut toks);
            digits = false;
        }
    }
    flush(&mut cur, &mut toks);
    let mut out: Vec<String> = toks.windows(2).map(|w| format!("{} {}", w[0], w[1])).collect();
    out.extend(toks);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_the_training_tokenizer() {
        assert_eq!(
            words("I'm on the 3rd floor, 10pm"),
            [
                "0", "0 pm", "0 rd", "floor", "floor 0", "im", "im on", "on", "on the", "pm", "rd", "rd floor", "the",
                "the 0"
            ]
        );
    }

    #[test]
    fn sentences_split_at_stops_and_lines() {
        assert_eq!(split_sentences("ok. I have the pills here!\nbye"), ["ok.", " I have the pills here!", "bye"]);
    }
}
