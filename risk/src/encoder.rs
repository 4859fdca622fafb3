//! The sentence encoder: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) run on the CPU with
//! candle, mean-pooled and L2-normalised exactly as sentence-transformers does.
//!
//! The weights ship in the repository (`risk/model/`, int8 with one scale per row; see
//! `risk/model/README.md` for source, licence and checksums) and are compiled into the binary, so
//! nothing is fetched or looked up at run time. They are dequantised to f32 once, at load.

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm};
use tokenizers::{Tokenizer, TruncationParams};

/// Width of an embedding.
pub const DIM: usize = 384;
/// Longest input in word pieces (sentence-transformers' `max_seq_length`); longer texts are cut.
pub const MAX_TOKENS: usize = 256;

const HEADS: usize = 12;
const LAYERS: usize = 6;
const EPS: f64 = 1e-12;

static WEIGHTS: &[u8] = include_bytes!("../model/minilm-l6-int8.safetensors");
static TOKENIZER: &[u8] = include_bytes!("../model/tokenizer.json");

/// Why the encoder could not be built (only possible if the shipped files are damaged).
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("model weights: {0}")]
    Weights(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// A dense layer on a 2-D input: the weight is transposed once at load, so every product is a
/// plain contiguous `(n, in) × (in, out)` matrix multiplication.
struct Dense {
    w_t: Tensor,
    b: Tensor,
}

impl Dense {
    fn new(w: Tensor, b: Tensor) -> Result<Dense, EncoderError> {
        Ok(Dense { w_t: w.t()?.contiguous()?, b })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.w_t)?.broadcast_add(&self.b)
    }
}

struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: LayerNorm,
    inter: Dense,
    out: Dense,
    out_norm: LayerNorm,
}

/// A loaded encoder. `embed` is `&self` and thread-safe.
pub struct Encoder {
    tokenizer: Tokenizer,
    words: Embedding,
    positions: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl Encoder {
    /// The encoder compiled into this binary.
    pub fn embedded() -> Result<Encoder, EncoderError> {
        Encoder::from_bytes(WEIGHTS, TOKENIZER)
    }

    /// An encoder from a safetensors file (the shipped int8 format, or the upstream f32 file)
    /// and a `tokenizer.json`.
    pub fn from_bytes(weights: &[u8], tokenizer: &[u8]) -> Result<Encoder, EncoderError> {
        let device = Device::Cpu;
        let mut tensors = read_weights(weights, &device)?;
        let mut take =
            |name: &str| tensors.remove(name).ok_or_else(|| EncoderError::Weights(format!("missing {name}")));
        let norm = |w: Tensor, b: Tensor| LayerNorm::new(w, b, EPS);

        let words = Embedding::new(take("embeddings.word_embeddings.weight")?, DIM);
        let positions = take("embeddings.position_embeddings.weight")?;
        let token_type = take("embeddings.token_type_embeddings.weight")?.narrow(0, 0, 1)?;
        let emb_norm = norm(take("embeddings.LayerNorm.weight")?, take("embeddings.LayerNorm.bias")?);
        let mut layers = Vec::with_capacity(LAYERS);
        for i in 0..LAYERS {
            let p = format!("encoder.layer.{i}");
            let mut wb = |n: &str| -> Result<(Tensor, Tensor), EncoderError> {
                Ok((take(&format!("{p}.{n}.weight"))?, take(&format!("{p}.{n}.bias"))?))
            };
            // Query, key and value in one product: their weights stacked along the output axis.
            let (qw, qb) = wb("attention.self.query")?;
            let (kw, kb) = wb("attention.self.key")?;
            let (vw, vb) = wb("attention.self.value")?;
            let qkv = Dense::new(Tensor::cat(&[qw, kw, vw], 0)?, Tensor::cat(&[qb, kb, vb], 0)?)?;
            let mut lin = |n: &str| -> Result<Dense, EncoderError> {
                let (w, b) = wb(n)?;
                Dense::new(w, b)
            };
            let attn_out = lin("attention.output.dense")?;
            let inter = lin("intermediate.dense")?;
            let out = lin("output.dense")?;
            let attn_norm = norm(
                take(&format!("{p}.attention.output.LayerNorm.weight"))?,
                take(&format!("{p}.attention.output.LayerNorm.bias"))?,
            );
            let out_norm =
                norm(take(&format!("{p}.output.LayerNorm.weight"))?, take(&format!("{p}.output.LayerNorm.bias"))?);
            layers.push(Layer { qkv, attn_out, attn_norm, inter, out, out_norm });
        }

        let mut tokenizer = Tokenizer::from_bytes(tokenizer).map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(Encoder { tokenizer, words, positions, token_type, norm: emb_norm, layers, device })
    }

    /// Word-piece ids of `text` with `[CLS]` and `[SEP]`, cut at [`MAX_TOKENS`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The unit-length sentence embedding of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let x = self.states(text)?;
        let n = x.dim(0)?;
        let mean = (x.sum(0)? / n as f64)?;
        let norm = mean.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?.max(1e-12);
        Ok((mean / norm as f64)?.to_vec1::<f32>()?)
    }

    /// The unit-length mean-pooled embedding and the element-wise maximum over the word pieces
    /// (without `[CLS]`/`[SEP]`) of the last layer's states.
    pub fn embed_mean_max(&self, text: &str) -> Result<(Vec<f32>, Vec<f32>), EncoderError> {
        let x = self.states(text)?;
        let n = x.dim(0)?;
        let mean = (x.sum(0)? / n as f64)?;
        let norm = mean.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?.max(1e-12);
        let inner = if n > 2 { x.narrow(0, 1, n - 2)? } else { x.clone() };
        let max = inner.max(0)?;
        Ok(((mean / norm as f64)?.to_vec1::<f32>()?, max.to_vec1::<f32>()?))
    }

    /// [`Encoder::embed_mean_max`] of several texts in one forward pass: the texts are padded to
    /// the longest and padding is masked out of attention and pooling, so each result equals the
    /// single-text one (up to float rounding) while the matrix products run on `B × T` rows at
    /// once, which is what makes a busy node's screening cheaper per message.
    #[allow(clippy::type_complexity)] // one (mean, max) pair per text, as `embed_mean_max` returns
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<(Vec<f32>, Vec<f32>)>, EncoderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.token_ids(t)).collect::<Result<_, _>>()?;
        let b = ids.len();
        let t = ids.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut flat = Vec::with_capacity(b * t);
        let mut key_mask = Vec::with_capacity(b * t); // 0 for a real word piece, -inf-ish for padding
        for row in &ids {
            flat.extend_from_slice(row);
            flat.extend(std::iter::repeat_n(0u32, t - row.len()));
            key_mask.extend(std::iter::repeat_n(0f32, row.len()));
            key_mask.extend(std::iter::repeat_n(-1e9f32, t - row.len()));
        }
        let dev = &self.device;
        let ids_t = Tensor::from_vec(flat, b * t, dev)?;
        let mut x = self.words.forward(&ids_t)?.reshape((b, t, DIM))?; // (B, T, DIM)
        x = x.broadcast_add(&self.positions.narrow(0, 0, t)?)?.broadcast_add(&self.token_type)?;
        let mut x = self.norm.forward(&x.reshape((b * t, DIM))?)?; // (B·T, DIM)
        let head_dim = DIM / HEADS;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mask = Tensor::from_vec(key_mask, (b, 1, 1, t), dev)?;
        for l in &self.layers {
            let qkv = l.qkv.forward(&x)?; // (B·T, 3·DIM)
            let heads = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(1, i * DIM, DIM)?.reshape((b, t, HEADS, head_dim))?.transpose(1, 2)?.contiguous()
            };
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?); // (B, HEADS, T, head_dim)
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&mask)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((b * t, DIM))?;
            let a = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let h = l.inter.forward(&a)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.out.forward(&h)? + &a)?)?;
        }
        let x = x.reshape((b, t, DIM))?.to_vec3::<f32>()?;
        let mut out = Vec::with_capacity(b);
        for (row, states) in ids.iter().zip(x) {
            let n = row.len();
            let mut mean = vec![0f32; DIM];
            for s in &states[..n] {
                for (m, v) in mean.iter_mut().zip(s) {
                    *m += v;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|m| *m /= norm);
            let inner = if n > 2 { &states[1..n - 1] } else { &states[..n] };
            let mut max = vec![f32::NEG_INFINITY; DIM];
            for s in inner {
                for (m, v) in max.iter_mut().zip(s) {
                    *m = m.max(*v);
                }
            }
            out.push((mean, max));
        }
        Ok(out)
    }

    /// The last layer's states of `text`, one row per word piece.
    fn states(&self, text: &str) -> Result<Tensor, EncoderError> {
        let ids = self.token_ids(text)?;
        let n = ids.len();
        let ids = Tensor::from_vec(ids, n, &self.device)?;
        let mut x = self.words.forward(&ids)?; // (n, DIM)
        x = x.add(&self.positions.narrow(0, 0, n)?)?.broadcast_add(&self.token_type)?;
        x = self.norm.forward(&x)?;
        let head_dim = DIM / HEADS;
        let scale = 1.0 / (head_dim as f64).sqrt();
        for l in &self.layers {
            let qkv = l.qkv.forward(&x)?; // (n, 3 * DIM)
            let heads = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(1, i * DIM, DIM)?.reshape((n, HEADS, head_dim))?.transpose(0, 1)?.contiguous()
            };
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?); // (HEADS, n, head_dim)
            let scores = (q.matmul(&k.t()?)? * scale)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs.matmul(&v)?.transpose(0, 1)?.reshape((n, DIM))?;
            let a = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let h = l.inter.forward(&a)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.out.forward(&h)? + &a)?)?;
        }
        Ok(x)
    }
}

/// Reads the tensors of a safetensors file: F32 as is; I8 matrices dequantised with their
/// `<name>.scale` row scales.
fn read_weights(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>, EncoderError> {
    use safetensors::{Dtype, SafeTensors};
    let st = SafeTensors::deserialize(bytes).map_err(|e| EncoderError::Weights(e.to_string()))?;
    let f32s = |data: &[u8]| -> Vec<f32> {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if name.ends_with(".scale") || name == "embeddings.position_ids" {
            continue;
        }
        let shape = view.shape().to_vec();
        let values = match view.dtype() {
            Dtype::F32 => f32s(view.data()),
            Dtype::I8 => {
                let scale = st
                    .tensor(&format!("{name}.scale"))
                    .map_err(|e| EncoderError::Weights(format!("{name}.scale: {e}")))?;
                let scale = f32s(scale.data());
                let cols = shape.get(1).copied().unwrap_or(1).max(1);
                view.data().iter().enumerate().map(|(i, &q)| f32::from(q as i8) * scale[i / cols]).collect()
            }
            other => return Err(EncoderError::Weights(format!("{name}: unsupported dtype {other:?}"))),
        };
        out.insert(name, Tensor::from_vec(values, shape, device)?.to_dtype(DType::F32)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn similar_sentences_are_closer_than_unrelated_ones() {
        let e = Encoder::embedded().expect("encoder");
        let a = e.embed("I have saved up my tablets to take them all").expect("embed");
        let b = e.embed("I've been stockpiling my pills so I can overdose").expect("embed");
        let c = e.embed("The weather in Leeds was lovely this afternoon").expect("embed");
        assert_eq!(a.len(), DIM);
        assert!((cos(&a, &a) - 1.0).abs() < 1e-4);
        assert!(cos(&a, &b) > cos(&a, &c) + 0.2, "{} vs {}", cos(&a, &b), cos(&a, &c));
    }

    #[test]
    fn a_batch_embeds_each_text_as_it_would_alone() {
        let e = Encoder::embedded().expect("encoder");
        let texts = ["ok", "I have saved up my tablets to take them all tonight", "see you thursday, thanks"];
        let batch = e.embed_batch(&texts).expect("batch");
        for (t, (mean, max)) in texts.iter().zip(&batch) {
            let (m1, x1) = e.embed_mean_max(t).expect("single");
            assert!(cos(mean, &m1) > 0.9999, "{t}: {}", cos(mean, &m1));
            let worst = max.iter().zip(&x1).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-3, "{t}: max-pool differs by {worst}");
        }
    }
}
