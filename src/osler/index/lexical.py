"""BM25 over passages with tantivy (English stemming; title and section boosted).

The index lives in `<data dir>/index/lexical/` and records the store's change sequence it has
caught up to, so `sync` applies only what changed since (no full rebuild for a small ingest).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy

from osler.index.abbreviations import AbbreviationMiner
from osler.models import Passage
from osler.store import Store

#: Bump when the schema or tokenization changes: an older index is rebuilt.
VERSION = 3
#: How much a match in each field counts. Titles and section names are short, so BM25 rates a
#: match there very highly; on the retrieval benchmark full weight on them buried the passages
#: that answer (PubMedQA recall@1 0.56 -> 0.91 with these weights, text alone 0.91).
FIELD_BOOSTS = {"text": 1.0, "title": 0.3, "section": 0.2}
#: Weight of terms added by abbreviation expansion (an abbreviation can have other meanings).
EXPANSION_BOOST = 0.3
STATE = "osler-state.json"
ABBREVIATIONS = "abbreviations.json"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: a rebuild or an incremental catch-up, and how many documents it touched."""

    rebuilt: bool
    documents: int
    passages: int
    seq: int


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("pid", stored=True, tokenizer_name="raw")
    sb.add_text_field("doc", stored=False, tokenizer_name="raw")
    for name in ("title", "section", "text"):
        sb.add_text_field(name, stored=False, tokenizer_name="en_stem")
    return sb.build()


class LexicalIndex:
    """A tantivy index of passages; `search` returns (passage id, BM25 score) pairs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index: tantivy.Index | None = None
        self.abbreviations: dict[str, str] = {}
        self._analyzer: tantivy.TextAnalyzer | None = None
        if self._state().get("version") == VERSION:
            self._open()

    @classmethod
    def at(cls, data_dir: Path) -> LexicalIndex:
        return cls(Path(data_dir) / "index" / "lexical")

    def _state(self) -> dict[str, int]:
        try:
            return json.loads((self.path / STATE).read_text())
        except (OSError, ValueError):
            return {}

    def _open(self) -> None:
        try:
            self.index = tantivy.Index(_schema(), path=str(self.path), reuse=True)
        except ValueError:  # written by another version: `sync` rebuilds it
            self.index = None
            return
        try:
            self.abbreviations = json.loads((self.path / ABBREVIATIONS).read_text())
        except (OSError, ValueError):
            self.abbreviations = {}

    @property
    def ready(self) -> bool:
        return self.index is not None

    @property
    def seq(self) -> int:
        return int(self._state().get("seq", -1))

    def _save(self, seq: int) -> None:
        (self.path / STATE).write_text(json.dumps({"version": VERSION, "seq": seq}))

    def sync(
        self, store: Store, progress: Progress | None = None, rebuild: bool = False
    ) -> SyncReport:
        """Bring the index up to the store's corpus version (rebuilding if needed or asked)."""
        target = store.corpus_version()
        if rebuild or not self.ready or self.seq < 0:
            return self._rebuild(store, target, progress)
        changed: dict[str, str] = {}
        for _, doc_id, op in store.changes_since(self.seq):
            changed[doc_id] = op
        if not changed:
            return SyncReport(False, 0, 0, target)
        assert self.index is not None
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        miner = AbbreviationMiner(self.abbreviations)
        passages = 0
        for n, (doc_id, op) in enumerate(changed.items(), 1):
            writer.delete_documents_by_term("doc", doc_id)
            doc = store.get_document(doc_id) if op == "upsert" else None
            if doc is not None:
                passages += self._add(writer, doc.indexed_title, store.passages(doc_id), miner)
            if progress:
                progress(n, len(changed))
        writer.commit()
        writer.wait_merging_threads()
        self._finish(miner, target)
        return SyncReport(False, len(changed), passages, target)

    def _rebuild(self, store: Store, target: int, progress: Progress | None) -> SyncReport:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        self.index = tantivy.Index(_schema(), path=str(self.path))
        writer = self.index.writer(heap_size=256_000_000, num_threads=1)
        miner = AbbreviationMiner()
        total = store.stats()["passages"]
        count = docs = 0
        for title, passages in store.iter_documents_passages():
            count += self._add(writer, title, passages, miner)
            docs += 1
            if progress and docs % 200 == 0:
                progress(count, total)
        writer.commit()
        writer.wait_merging_threads()
        if progress:
            progress(total, total)
        self._finish(miner, target)
        return SyncReport(True, docs, count, target)

    def _add(
        self,
        writer: tantivy.IndexWriter,
        title: str,
        passages: Iterable[Passage],
        miner: AbbreviationMiner,
    ) -> int:
        n = 0
        for p in passages:
            writer.add_document(
                tantivy.Document(
                    pid=p.id, doc=p.document_id, title=title, section=p.section, text=p.text
                )
            )
            miner.feed(p.text)
            n += 1
        return n

    def _finish(self, miner: AbbreviationMiner, seq: int) -> None:
        self.abbreviations = miner.result()
        (self.path / ABBREVIATIONS).write_text(json.dumps(self.abbreviations, sort_keys=True))
        self._save(seq)
        assert self.index is not None
        self.index.reload()

    def document_frequencies(self, words: list[str]) -> tuple[int, dict[str, int]]:
        """The number of indexed passages, and for each word the number of passages whose text
        has it (after stemming as the index does; a word that yields several tokens counts by
        its rarest). (0, {}) before the index is built."""
        if not self.ready:
            return 0, {}
        assert self.index is not None
        searcher = self.index.searcher()
        if self._analyzer is None:
            self._analyzer = _analyzer()
        out: dict[str, int] = {}
        for word in dict.fromkeys(words):
            tokens = self._analyzer.analyze(word)
            if tokens:
                out[word] = min(searcher.doc_freq("text", t) for t in tokens)
        return searcher.num_docs, out

    def search(
        self, terms: list[str], k: int = 100, expansion_terms: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top-k passages for a bag of terms (OR) over the boosted fields; `expansion_terms`
        (words added by abbreviation expansion) count at EXPANSION_BOOST. [] if no terms."""
        if not self.ready or not terms:
            return []
        assert self.index is not None
        safe = [t for t in (_sanitize(t) for t in terms) if t]
        if not safe:
            return []
        query = self.index.parse_query(
            " ".join(safe), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
        )
        extra = [t for t in (_sanitize(t) for t in expansion_terms or []) if t]
        if extra:
            expansion = self.index.parse_query(
                " ".join(extra), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
            )
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, query),
                    (tantivy.Occur.Should, tantivy.Query.boost_query(expansion, EXPANSION_BOOST)),
                ]
            )
        searcher = self.index.searcher()
        result = searcher.search(query, k)
        return [(searcher.doc(addr)["pid"][0], score) for score, addr in result.hits]


def _analyzer() -> tantivy.TextAnalyzer:
    """The `en_stem` tokenizer of the text field, rebuilt to look words up in the index."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _sanitize(term: str) -> str:
    """A term as plain words: every query-syntax character becomes a space."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in term).lower().split())
