#!/usr/bin/env python3
"""Train the semantic detector's heads on sentence embeddings (all-MiniLM-L6-v2, computed by the
Rust encoder itself: `cargo run --release -p healing-risk --example embed`).

Three ordinal logistic heads, P(level >= low), P(level >= moderate), P(level = high), over three
feature groups: the 384-d mean-pooled sentence embedding, the element-wise maximum of the last
layer's word-piece states (L2-normalised; it keeps a risky clause that the mean dilutes), and binary word unigrams and bigrams (in at least
`MIN_DF` training texts; L2-normalised) of the text as the detector reads it (Unicode-folded by
`risk/src/unicode.rs`; the Rust tokenizer `semantic::words` mirrors `words()` below). The model's level is the highest k whose head and all heads below it clear their thresholds (texts of
`LONG_WORDS` words or more have their own three thresholds); the detector's final level is max(rules, model) (the model never lowers a level).

Training pool: the dev posts (`shared/eval/cssrs_posts_dev.jsonl`) and the project's chat data
(`risk/data/chat/*.jsonl`). Never used for training or tuning: the 38 dev chat probes and the
lockboxes (`risk/data/lockbox/lockbox.jsonl`, `lockbox2.jsonl`, `lockbox3.jsonl`), which are only
scored (`report`).

    python3 risk/train/train_semantic.py cv      # 5-fold CV on the training pool, per set
    python3 risk/train/train_semantic.py export  # train on the whole pool, write risk/model/heads.json
    python3 risk/train/train_semantic.py report  # the shipped heads on probes and lockbox

Inputs are found relative to the checkout; embeddings and rules predictions are cached under
`target/risk-train/` by `risk/train/train.sh`, which runs the whole pipeline.
"""
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "eval"
CACHE = ROOT / "target" / "risk-train"
LV = {"none": 0, "low": 1, "moderate": 2, "high": 3}
NAMES = ["none", "low", "moderate", "high"]
SEED = 20261202
L2 = 1e-5
MIN_DF = 3
EMB_SCALE = 2.0
# Thresholds are chosen on out-of-fold scores: the lowest thresholds (over-triage) whose
# out-of-fold precision still meets these floors, with recall floors as the first goal.
ANY_PRECISION_FLOOR = 0.88
HIGH_PRECISION_FLOOR = 0.66
# Of the `none` chat messages three kinds are budgeted apart (by their `category`): everyday
# ones (daily life, follow-ups such as "thanks, that helps a bit", short replies), which a
# patient writes most and which must almost never alert; distress without risk and explicit
# denials, which sit next to real risk and where over-triage is the safe side; and hard negatives
# (risk words in benign senses: climbing rope, a will before surgery, ...), built to look risky.
# (Until 2026-12-03 the first two shared one 8 % budget, which held the ">= low" threshold so
# high that passive death wishes and minor self-harm on a fresh lockbox were graded none.)
MAX_EVERYDAY_FLAGGED = 0.10
MAX_DISTRESS_FLAGGED = 0.25
MAX_HARD_NEGATIVES_FLAGGED = 0.30
# A `none` message graded high pauses the patient's AI chat, shows the emergency numbers and pages
# a clinician: at most this share of all `none` chat messages may be graded high.
MAX_NONE_GRADED_HIGH = 0.10
# Texts of at least LONG_WORDS words (after folding) get their own three thresholds: two thirds
# of the dev posts are that long and 5 % of chat messages, and a long text's scores sit apart from
# a chat message's, so one operating point for both made the posts' precision floor hold the chat
# threshold up.
LONG_WORDS = 40
EVERYDAY_WORDS = ("everyday", "follow", "reply", "mundane", "short", "positive", "gratitude", "achievement", "sleep", "improvement")


def kind_of(row):
    """`hard`, `everyday` or `distress` for a `none` row (by its category); `risk` otherwise."""
    cat = row.get("category", "")
    if row["level"] != "none":
        return "risk"
    if "hard-negative" in cat:
        return "hard"
    if any(w in cat for w in EVERYDAY_WORDS):
        return "everyday"
    return "distress"

sys.path.insert(0, str(SHARED))
try:
    from score import metrics  # the exact metric definitions used to verify the product
except ImportError:  # pragma: no cover - the shared folder is part of the workspace
    metrics = None


def load_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def words(text):
    """Unigrams and bigrams: ASCII letters lowercased, a run of digits is `0`, apostrophes
    dropped, anything else separates (identical to `semantic::words` in Rust)."""
    text = text.translate(ASCII_LOWER).replace("'", "").replace("\u2019", "")
    toks = ["0" if t[0].isdigit() else t for t in re.findall(r"[a-z]+|[0-9]+", text)]
    return set(toks) | {a + " " + b for a, b in zip(toks, toks[1:])}


def adjudicated(rows):
    """Training labels: the writer's label, raised to the blind second rating where that is
    higher (over-triage); see risk/data/README.md."""
    second = {}
    for path in sorted((ROOT / "risk" / "data" / "ratings").glob("*.jsonl")):
        for r in load_jsonl(path):
            if r["id"] not in second or LV[r["level"]] > LV[second[r["id"]]]:
                second[r["id"]] = r["level"]
    out = []
    for r in rows:
        lvl = r["level"]
        if r["id"] in second and LV[second[r["id"]]] > LV[lvl]:
            r = dict(r, level=second[r["id"]])
        out.append(r)
    return out


def load_set(name, files, emb_file, rules_file, adjudicate=False):
    rows = [r for f in files for r in load_jsonl(f)]
    if adjudicate:
        rows = adjudicated(rows)
    embs, maxs = {}, {}
    for r in load_jsonl(emb_file):
        embs[r["id"]], maxs[r["id"]] = r["emb"], r["max"]
    rules = {r["id"]: r["level"] for r in load_jsonl(rules_file)}
    folded = {r["id"]: r["folded"] for r in load_jsonl(emb_file.with_suffix(".fold"))}
    x = np.array([embs[r["id"]] for r in rows], dtype=np.float64)
    mx = np.array([maxs[r["id"]] for r in rows], dtype=np.float64)
    mx /= np.maximum(np.linalg.norm(mx, axis=1, keepdims=True), 1e-12)
    y = np.array([LV[r["level"]] for r in rows])
    ru = np.array([LV[rules[r["id"]]] for r in rows])
    w = [words(folded[r["id"]]) for r in rows]
    nwords = np.array([len(folded[r["id"]].split()) for r in rows])
    kind = np.array([kind_of(r) for r in rows])
    return {"name": name, "rows": rows, "x": x, "mx": mx, "y": y, "rules": ru, "words": w, "kind": kind, "long": nwords >= LONG_WORDS}


def vocabulary(word_sets):
    df = {}
    for ws in word_sets:
        for f in ws:
            df[f] = df.get(f, 0) + 1
    return sorted(f for f, c in df.items() if c >= MIN_DF)


def features(d, vocab):
    vi = {f: i for i, f in enumerate(vocab)}
    bow = np.zeros((len(d["words"]), len(vocab)))
    for i, ws in enumerate(d["words"]):
        idx = [vi[f] for f in ws if f in vi]
        if idx:
            bow[i, idx] = 1.0 / np.sqrt(len(idx))
    return np.hstack([d["x"] * EMB_SCALE, d["mx"] * EMB_SCALE, bow])


def sets():
    chat_files = sorted((ROOT / "risk" / "data" / "chat").glob("*.jsonl"))
    out = {
        "posts": load_set("posts", [SHARED / "cssrs_posts_dev.jsonl"], CACHE / "posts.emb", CACHE / "posts.rules"),
        "chat": load_set("chat", chat_files, CACHE / "chat.emb", CACHE / "chat.rules", adjudicate=True),
    }
    scored_only = [
        ("probes", SHARED / "chat_probes_dev.jsonl"),
        ("lockbox", ROOT / "risk/data/lockbox/lockbox.jsonl"),
        ("lockbox2", ROOT / "risk/data/lockbox/lockbox2.jsonl"),
        ("lockbox3", ROOT / "risk/data/lockbox/lockbox3.jsonl"),
    ]
    for name, path in scored_only:
        if (CACHE / f"{name}.emb").exists():
            out[name] = load_set(name, [path], CACHE / f"{name}.emb", CACHE / f"{name}.rules")
    return out


def fit_logistic(x, y, w, l2=L2, iters=400, lr=0.05):
    """L2-regularised weighted logistic regression, full-batch Adam (deterministic)."""
    n, d = x.shape
    theta = np.zeros(d + 1)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    xb = np.hstack([x, np.ones((n, 1))])
    ws = w / w.sum()
    for t in range(1, iters + 1):
        z = xb @ theta
        p = 1.0 / (1.0 + np.exp(-z))
        g = xb.T @ ((p - y) * ws)
        g[:-1] += l2 * theta[:-1]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return theta


def logit(theta, x):
    return x @ theta[:-1] + theta[-1]


def weights(pool):
    """Each source counts equally overall (posts are few and long, chat many and short)."""
    w = np.ones(len(pool["y"]))
    for src in np.unique(pool["src"]):
        idx = pool["src"] == src
        w[idx] = 1.0 / idx.sum()
    return w * len(w)


def train_heads(x, y, w):
    return [fit_logistic(x, (y >= k).astype(float), w) for k in (1, 2, 3)]


def scores(heads, x):
    return np.stack([logit(h, x) for h in heads], axis=1)


def model_level(s, t, long):
    """The model's level: the highest k such that the heads of k and of every level below it
    clear their thresholds (ordinal: a text the `>= low` head calls none is not graded high by
    the high head alone, as "my sister is visiting on Sunday" was); `t` holds three thresholds for
    texts under LONG_WORDS words, then three for longer ones."""
    lvl = np.zeros(len(s), dtype=int)
    ok = np.ones(len(s), dtype=bool)
    for k in range(3):
        ok = ok & (s[:, k] > np.where(long, t[3 + k], t[k]))
        lvl = np.where(ok, k + 1, lvl)
    return lvl


def evaluate(y, pred):
    gold = [{"id": i, "level": NAMES[v]} for i, v in enumerate(y)]
    return metrics(gold, {i: NAMES[v] for i, v in enumerate(pred)})


def pool_of(s):
    x = np.vstack([s["posts"]["x"], s["chat"]["x"]])
    mx = np.vstack([s["posts"]["mx"], s["chat"]["mx"]])
    wsets = s["posts"]["words"] + s["chat"]["words"]
    y = np.concatenate([s["posts"]["y"], s["chat"]["y"]])
    ru = np.concatenate([s["posts"]["rules"], s["chat"]["rules"]])
    src = np.array(["posts"] * len(s["posts"]["y"]) + ["chat"] * len(s["chat"]["y"]))
    kind = np.concatenate([s["posts"]["kind"], s["chat"]["kind"]])
    long = np.concatenate([s["posts"]["long"], s["chat"]["long"]])
    pool = {"x": x, "mx": mx, "y": y, "rules": ru, "src": src, "words": wsets, "kind": kind, "long": long}
    pool["vocab"] = vocabulary(wsets)
    pool["f"] = features(pool, pool["vocab"])
    return pool


def folds(y, k=5):
    rng = np.random.default_rng(SEED)
    f = np.zeros(len(y), dtype=int)
    for key in np.unique(y):
        idx = np.where(y == key)[0]
        rng.shuffle(idx)
        f[idx] = np.arange(len(idx)) % k
    return f


def oof_scores(pool):
    f = folds(pool["y"] * 10 + (pool["src"] == "posts"))
    out = np.zeros((len(pool["y"]), 3))
    w = weights(pool)
    for k in range(5):
        tr, te = f != k, f == k
        heads = train_heads(pool["f"][tr], pool["y"][tr], w[tr])
        out[te] = scores(heads, pool["f"][te])
    return out


def quick(y, p):
    """any-risk precision, high precision, under-triage and the share of risky messages graded
    `none` (missed entirely)."""
    flagged = p >= 1
    anyp = (flagged & (y >= 1)).sum() / max(flagged.sum(), 1)
    hp = ((p == 3) & (y == 3)).sum() / max((p == 3).sum(), 1)
    under = ((y >= 1) & (p < y)).sum() / max((y >= 1).sum(), 1)
    missed = ((y >= 1) & ~flagged).sum() / max((y >= 1).sum(), 1)
    return anyp, hp, under, missed


def choose_thresholds(s, pool):
    """Coordinate descent on out-of-fold scores (final = max(rules, model)): minimise the
    under-triage plus the share missed entirely, of posts plus chat, subject to floors that hold in *each* source: any-risk
    precision >= ANY_PRECISION_FLOOR, high precision >= HIGH_PRECISION_FLOOR; and of the `none`
    chat messages at most MAX_EVERYDAY_FLAGGED of the everyday ones, MAX_DISTRESS_FLAGGED of
    distress and denials and MAX_HARD_NEGATIVES_FLAGGED of the hard negatives flagged, and at
    most MAX_NONE_GRADED_HIGH of them graded high. Ties go to the lower threshold."""
    grid = [round(g, 2) for g in np.arange(-3.0, 4.01, 0.1)]
    srcs = [pool["src"] == src for src in ("posts", "chat")]
    none_chat = srcs[1] & (pool["y"] == 0)
    budgets = [
        (none_chat & (pool["kind"] == "everyday"), MAX_EVERYDAY_FLAGGED),
        (none_chat & (pool["kind"] == "distress"), MAX_DISTRESS_FLAGGED),
        (none_chat & (pool["kind"] == "hard"), MAX_HARD_NEGATIVES_FLAGGED),
    ]

    def cost(t):
        final = np.maximum(pool["rules"], model_level(s, t, pool["long"]))
        if any((final[idx] >= 1).mean() > budget for idx, budget in budgets):
            return None
        if (final[none_chat] == 3).mean() > MAX_NONE_GRADED_HIGH:
            return None
        total = 0.0
        for idx in srcs:
            anyp, hp, under, missed = quick(pool["y"][idx], final[idx])
            if anyp < ANY_PRECISION_FLOOR or hp < HIGH_PRECISION_FLOOR:
                return None
            # A risky message graded none gets nothing (no crisis resources, no alert); one graded
            # too low still alerts. So a miss counts twice: once here, once in under-triage.
            total += under + missed
        return total

    # Coordinate descent gets stuck where a lower ">= low" threshold only pays off together with a
    # lower ">= moderate" one; so each round also moves those two jointly (for short and for long
    # texts), and the descent starts from several points (all found on the out-of-fold scores only).
    coarse = [round(g, 2) for g in np.arange(-3.0, 6.01, 0.2)]
    best, best_cost = [99.0] * 6, cost([99.0] * 6)
    for start in [99.0, 0.0, 1.0, 2.0, 3.0, 4.0]:
        t = [start] * 6 if cost([start] * 6) is not None else [99.0] * 6
        for _ in range(4):
            for k in (2, 0, 1, 5, 3, 4):
                b, bc = t[k], cost(t)
                for g in grid:
                    trial = list(t)
                    trial[k] = g
                    c = cost(trial)
                    if c is not None and (bc is None or c < bc - 1e-9):
                        b, bc = g, c
                t[k] = b
            for lo in (0, 3):
                bc = cost(t)
                for g0 in coarse:
                    for g1 in coarse:
                        trial = list(t)
                        trial[lo], trial[lo + 1] = g0, g1
                        c = cost(trial)
                        if c is not None and (bc is None or c < bc - 1e-9):
                            t, bc = trial, c
        c = cost(t)
        if c is not None and (best_cost is None or c < best_cost - 1e-9):
            best, best_cost = [float(v) for v in t], c
    return best


def report_sets(s, heads, t, vocab):
    for name in ("posts", "chat", "probes", "lockbox", "lockbox2", "lockbox3"):
        if name not in s:
            continue
        d = s[name]
        final = np.maximum(d["rules"], model_level(scores(heads, features(d, vocab)), t, d["long"]))
        print(f"{name:8s} rules  {json.dumps(evaluate(d['y'], d['rules']))}")
        print(f"{name:8s} final  {json.dumps(evaluate(d['y'], final))}")
        for label in ("everyday", "distress", "hard"):
            idx = d["kind"] == label
            if idx.any():
                print(f"{name:8s} {label} messages flagged: {(final[idx] >= 1).mean():.3f} of {idx.sum()}")


def cv():
    s = sets()
    pool = pool_of(s)
    oof = oof_scores(pool)
    t = choose_thresholds(oof, pool)
    print("thresholds (chosen on out-of-fold scores):", t)
    final = np.maximum(pool["rules"], model_level(oof, t, pool["long"]))
    for src in ("posts", "chat"):
        idx = pool["src"] == src
        print(f"{src:8s} rules     {json.dumps(evaluate(pool['y'][idx], pool['rules'][idx]))}")
        print(f"{src:8s} model-cv  {json.dumps(evaluate(pool['y'][idx], model_level(oof[idx], t, pool['long'][idx])))}")
        print(f"{src:8s} final-cv  {json.dumps(evaluate(pool['y'][idx], final[idx]))}")
    for name in ("everyday", "distress", "hard"):
        idx = (pool["src"] == "chat") & (pool["kind"] == name)
        print(f"chat     {name} messages flagged (cv): {(final[idx] >= 1).mean():.3f} of {idx.sum()}")
    return s, pool, t


def export():
    s, pool, t = cv()
    heads = train_heads(pool["f"], pool["y"], weights(pool))
    heads = [np.round(h, 6) for h in heads]
    protos = prototypes(s["chat"])
    dim = int(pool["x"].shape[1])
    out = {
        "source": "risk/train/train_semantic.py on dev posts + risk/data/chat (see risk/train/README.md)",
        "dim": dim,
        "vocab": pool["vocab"],
        "heads": [
            {
                "embedding": [float(v) * EMB_SCALE for v in h[:dim]],
                "max": [float(v) * EMB_SCALE for v in h[dim : 2 * dim]],
                "words": [float(v) for v in h[2 * dim : -1]],
                "bias": float(h[-1]),
            }
            for h in heads
        ],
        "thresholds": t[:3],
        "long_words": LONG_WORDS,
        "thresholds_long": t[3:],
        "prototypes": protos,
    }
    path = ROOT / "risk" / "model" / "heads.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    # A fixed sample with the training code's scores: `risk/tests/semantic_parity.rs` checks that
    # the Rust detector computes the same scores and levels.
    rng = np.random.default_rng(SEED)
    parity = ROOT / "risk" / "tests" / "data" / "semantic_parity.jsonl"
    with open(parity, "w", encoding="utf-8") as f:
        for name in ("chat", "probes", "lockbox"):
            if name not in s:
                continue
            d = s[name]
            sc = scores(heads, features(d, pool["vocab"]))
            lv = model_level(sc, t, d["long"])
            picked = set(rng.choice(len(d["rows"]), size=min(60, len(d["rows"])), replace=False).tolist())
            # and some long texts, which take the long-text thresholds
            long_ids = np.flatnonzero(d["long"])
            picked |= set(rng.choice(long_ids, size=min(20, len(long_ids)), replace=False).tolist())
            for i in sorted(picked):
                row = {"text": d["rows"][i]["text"], "scores": [round(float(v), 5) for v in sc[i]], "model": NAMES[lv[i]]}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {parity.relative_to(ROOT)}")
    report_sets(s, heads, t, pool["vocab"])


# Readable reasons: a model-driven grade names the C-SSRS item whose training messages its
# sentence is closest to. Groups are fixed here (their labels are compiled into the Rust code).
PROTOTYPES = [
    ("attempt in progress", 3, ["in-progress", "attempt-in-progress"]),
    ("plan or means with a time", 3, ["plan", "means+time"]),
    ("suicidal intent", 3, ["intent", "veiled"]),
    ("farewell or final arrangements", 3, ["farewell"]),
    ("preparation or recent behaviour", 3, ["preparation", "recent-behaviour", "recent-attempt", "severe-self-harm"]),
    ("someone else in imminent danger", 3, ["third-party-imminent"]),
    ("thinking about a method", 2, ["method-thinking", "method-algospeak", "method-thought"]),
    ("past suicidal behaviour", 2, ["remote-attempt", "remote-preparation", "past-attempt"]),
    ("wish to be dead", 1, ["passive-wish", "religious-wish", "burden"]),
    ("suicidal thoughts", 1, ["ideation-nonspecific", "algospeak-low", "non-specific-ideation"]),
    ("self-harm", 1, ["self-harm-minor", "nssi-minor"]),
]


def prototypes(chat):
    out = []
    for label, level, cats in PROTOTYPES:
        idx = [i for i, r in enumerate(chat["rows"]) if r.get("category", "").split(":")[-1] in cats and LV[r["level"]] == level]
        if not idx:
            continue
        c = chat["x"][idx].mean(axis=0)
        c /= np.linalg.norm(c)
        out.append({"label": label, "level": NAMES[level], "centroid": [round(float(v), 6) for v in c]})
    return out


def report():
    s = sets()
    h = json.loads((ROOT / "risk" / "model" / "heads.json").read_text())
    heads = [
        np.array([v / EMB_SCALE for v in hd["embedding"]] + [v / EMB_SCALE for v in hd["max"]] + hd["words"] + [hd["bias"]])
        for hd in h["heads"]
    ]
    report_sets(s, heads, h["thresholds"] + h["thresholds_long"], h["vocab"])


if __name__ == "__main__":
    {"cv": cv, "export": export, "report": report}[sys.argv[1] if len(sys.argv) > 1 else "cv"]()
