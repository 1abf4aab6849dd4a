"""Passage encoding speed of the dense index, fp32 against bf16, on ~500 real passages.

Usage: python benchmarks/dense_encode.py [N]   (N passages, default 500; needs `osler[dense]`)

Run it on a quiet machine: the load average is printed, since other work halves the figures.

The passages come from the shared data (PubMedQA abstracts and MedQuAD pages, ingested into a
temporary store) and are embedded exactly as the index embeds them (`title — section: text`,
batches of 64). Prints passages/s per dtype, the cosine of bf16 to fp32 embeddings, and how many
of each passage's 10 nearest neighbours bf16 keeps.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from osler.index import dense
from osler.ingest.pipeline import ingest
from osler.settings import load
from osler.store import open_store


def _passages(n: int) -> list[str]:
    shared = load().shared_data
    with tempfile.TemporaryDirectory(prefix="osler-bench-") as tmp:
        sample = Path(tmp) / "medquad.jsonl"
        with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
            sample.write_text("".join(next(fh) for _ in range(400)), encoding="utf-8")
        store = open_store(Path(tmp) / "data")
        ingest(store, [sample, shared / "pubmedqa" / "ori_pqal.json"])
        texts = [
            dense.passage_text(title, p.section, p.text)
            for title, passages in store.iter_documents_passages()
            for p in passages
        ]
        store.close()
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def _rates(texts: list[str], rounds: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Best passages/s of each dtype over interleaved rounds (so a busy moment hits both)."""
    for dtype in dense.DTYPES:
        dense.encode(texts[:64], dtype)  # load the model and warm up
    rates = dict.fromkeys(dense.DTYPES, 0.0)
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for dtype in dense.DTYPES:
            began = time.perf_counter()
            vectors[dtype] = dense.encode(texts, dtype)
            rates[dtype] = max(rates[dtype], len(texts) / (time.perf_counter() - began))
    return rates, vectors


def main(n: int, rounds: int = 3) -> None:
    texts = _passages(n)
    chars = sum(map(len, texts)) / len(texts)
    print(f"passages          {len(texts)} (mean {chars:.0f} characters), batch {dense.BATCH}")
    print(f"torch             {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"cpu bf16 native   {dense.default_dtype() == 'bf16'} (default dtype)")
    load = os.getloadavg()[0]
    rates, vectors = _rates(texts, rounds)
    for dtype in dense.DTYPES:
        print(f"{dtype:<17} {rates[dtype]:,.1f} passages/s (best of {rounds})")
    print(f"load average      {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    cos = (vectors["fp32"] * vectors["bf16"]).sum(axis=1)
    print(f"bf16 / fp32 speed {rates['bf16'] / rates['fp32']:.2f}x")
    print(f"cosine bf16-fp32  min {cos.min():.4f}  mean {cos.mean():.4f}")
    top = {d: np.argsort(-(v @ v.T), axis=1)[:, 1:11] for d, v in vectors.items()}
    kept = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(top["fp32"], top["bf16"], strict=True)]
    )
    print(f"top-10 neighbours bf16 keeps of fp32: {kept:.1%}")
    faster = max(rates, key=lambda d: rates[d])
    choice = faster if faster == "fp32" or cos.min() >= 0.99 else "fp32"
    print(f"choice            {choice}")
    print(
        json.dumps(
            {
                "passages": len(texts),
                "fp32_per_s": round(rates["fp32"], 1),
                "bf16_per_s": round(rates["bf16"], 1),
                "cosine_min": round(float(cos.min()), 4),
                "cosine_mean": round(float(cos.mean()), 4),
                "top10_overlap": round(float(kept), 3),
                "choice": choice,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
