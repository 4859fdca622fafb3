//! `cargo bench -p healing-risk --bench assess`: the full detector (rules + sentence encoder +
//! heads) on a 15-word chat message, a 40-word message and a 250-word post.
#![allow(clippy::expect_used, reason = "test code")]
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const MSG: &str = "Honestly I don't know why I keep going. Work has been awful, my girlfriend left last \
month and I've been thinking about how high the bridge near the station is. I haven't told anyone \
because I don't want to worry them.";

/// 15 words, the median chat message length of the project's data.
const CHAT: &str = "I keep thinking everyone would be better off if I just wasn't around anymore";

fn post() -> String {
    let s = "I have been struggling for a long time now and most days I just go through the motions at \
work and come home and lie on the bed staring at the ceiling until it is dark. ";
    s.repeat(7)
}

fn bench(c: &mut Criterion) {
    let _ = healing_risk::assess("warm up", &[]);
    let mut g = c.benchmark_group("assess");
    g.sample_size(20);
    g.bench_function("chat_15_words", |b| b.iter(|| healing_risk::assess(black_box(CHAT), &[])));
    let long = post();
    g.bench_function("post_250_words", |b| b.iter(|| healing_risk::assess(black_box(&long), &[])));
    g.throughput(Throughput::Elements(1));
    g.bench_function("40_words", |b| b.iter(|| healing_risk::assess(black_box(MSG), &[])));
    g.bench_function("40_words_with_3_context", |b| {
        let ctx = ["I can't do this anymore", "nobody would miss me", "I'm so tired"];
        b.iter(|| healing_risk::assess(black_box(MSG), black_box(&ctx)))
    });
    g.bench_function("benign_12_words", |b| {
        b.iter(|| healing_risk::assess(black_box("Can you help me write a thought record about my argument?"), &[]))
    });
    g.finish();

    // The encoder alone, one message at a time against 16 in one pass (per-message cost =
    // time / 16): what batching buys a node that screens a queue of messages.
    let chats: Vec<String> = (0..16).map(|i| format!("{CHAT} {i}")).collect();
    let refs: Vec<&str> = chats.iter().map(String::as_str).collect();
    let enc = healing_risk::encoder::Encoder::embedded().expect("encoder");
    let mut g = c.benchmark_group("encoder");
    g.sample_size(20);
    g.throughput(Throughput::Elements(16));
    g.bench_function("16_chats_one_by_one", |b| {
        b.iter(|| refs.iter().map(|t| enc.embed(black_box(t)).expect("embed").len()).sum::<usize>())
    });
    g.bench_function("16_chats_one_batch", |b| b.iter(|| enc.embed_batch(black_box(&refs)).expect("batch").len()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
