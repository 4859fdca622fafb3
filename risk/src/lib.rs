//! # healing-risk — suicide and self-harm risk triage on the C-SSRS screener
//!
//! A pure, allocation-light function from a patient message (plus that patient's earlier
//! messages) to a [`Level`] with explained [`Reason`]s. No I/O, no runtime, no model download
//! (the sentence encoder's weights and the trained heads are compiled in).
//!
//! ## Layout
//! | file | purpose |
//! |---|---|
//! | `level.rs` | [`Level`], [`Reason`], [`Assessment`] — the public result types |
//! | `normalize.rs` | lowercase, quotes, emoji → words, algospeak/misspellings → canonical words, byte map back to the original |
//! | `lexicon.rs` | the cue patterns, each tied to a C-SSRS item, compiled once into a `RegexSet` |
//! | `negation.rs` | negation scope, idioms, media/quotes |
//! | `subject.rs` | whose risk (patient / someone else / generic "you") and third-party imminence |
//! | `timing.rs` | recent (≤ 3 months) vs remote behaviour |
//! | `context.rs` | escalation across the conversation |
//! | `unicode.rs` | folding of obfuscated text (zero-width, NFKC, confusables, combining marks, leet) |
//! | `encoder.rs` | all-MiniLM-L6-v2 sentence encoder on candle (int8 weights compiled in) |
//! | `semantic.rs` | the trained heads over embedding + words; can only raise a level |
//! | `engine.rs` | the pipeline: [`assess`] |
//! | `eval.rs` | metrics identical to `shared/eval/score.py` |
//! | `cli.rs` | `risk classify` (JSON Lines in/out) and `risk eval` |
//!
//! See `docs/risk-engine.md` for the clinical mapping, evaluation and limitations.

#![cfg_attr(test, allow(clippy::expect_used, clippy::unwrap_used))]

mod context;
#[cfg(feature = "semantic")]
pub mod encoder;
mod engine;
mod level;
mod lexicon;
mod negation;
mod normalize;
#[cfg(feature = "semantic")]
pub mod semantic;
mod subject;
mod timing;
mod unicode;

pub mod cli;
pub mod eval;

pub use engine::{Raise, assess, assess_rules, load, model_raise, model_raise_batch};
pub use level::{Assessment, Level, Reason};
pub use unicode::fold as fold_for_model;
