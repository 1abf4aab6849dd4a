"""Tool-call latency of `osler mcp` over stdio: N calls each of search_evidence and ask.

Usage: python benchmarks/mcp_latency.py [--data-dir DIR] [--calls 200] [--in-place] [--question Q]
Copies the data dir to a temporary one (ask records conversations; --in-place uses DIR itself),
starts `osler mcp` on it as a subprocess, connects with the MCP SDK's stdio client, makes one
warm-up call of each tool, then N sequential calls of each with a seeded mix of MedQuAD and
BioASQ questions (as benchmarks/load.py; --question: that one question every time), and prints p50/p95/mean milliseconds per tool, timed
at the client (JSON-RPC round trip included), with the error count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from load import questions
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from osler.settings import SQLITE_FILENAME, load

MAX_CALLS = 10_000


def copy_data_dir(source: Path, target: Path) -> Path:
    """A copy of a data dir, the store through SQLite's backup API (it may be open elsewhere)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(f"{SQLITE_FILENAME}*"))
    src, dst = sqlite3.connect(source / SQLITE_FILENAME), sqlite3.connect(target / SQLITE_FILENAME)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(latencies: list[float], errors: int) -> dict[str, Any]:
    ms = [t * 1000 for t in latencies]
    return {
        "calls": len(ms) + errors,
        "errors": errors,
        "p50_ms": round(statistics.median(ms), 1) if ms else 0.0,
        "p95_ms": round(percentile(ms, 0.95), 1) if ms else 0.0,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
    }


async def _run(data_dir: Path, calls: int, question: str | None) -> dict[str, Any]:
    env = {**os.environ, "OSLER_DATA_DIR": str(data_dir)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "osler", "mcp"], env=env)
    asked = [question] * calls if question else questions(calls)
    figures: dict[str, Any] = {}
    began = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        print(f"server ready in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        tools = {
            "search_evidence": lambda q: {"query": q, "k": 10},
            "ask": lambda q: {"question": q},
        }
        for tool, arguments in tools.items():
            await session.call_tool(tool, arguments(asked[0]))  # warm-up, not counted
            latencies: list[float] = []
            errors = 0
            for q in asked:
                mark = time.perf_counter()
                result = await session.call_tool(tool, arguments(q))
                if result.is_error:
                    errors += 1
                else:
                    latencies.append(time.perf_counter() - mark)
            figures[tool] = summary(latencies, errors)
    return figures


def measure(
    data_dir: Path, calls: int = 200, in_place: bool = False, question: str | None = None
) -> dict[str, Any]:
    """{tool: {calls, errors, p50_ms, p95_ms, mean_ms}} for search_evidence and ask."""
    calls = min(calls, MAX_CALLS)
    if in_place:
        return anyio.run(_run, data_dir, calls, question)
    with tempfile.TemporaryDirectory(prefix="osler-mcp-bench-") as tmp:
        return anyio.run(_run, copy_data_dir(data_dir, Path(tmp) / "data"), calls, question)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $OSLER_DATA_DIR")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--in-place", action="store_true", help="do not copy the data dir")
    parser.add_argument("--question", help="ask (and search) this one question every time")
    args = parser.parse_args()
    data_dir = args.data_dir or load().data_dir
    began = time.perf_counter()
    figures = measure(data_dir, args.calls, args.in_place, args.question)
    print(json.dumps(figures, indent=2))
    for tool, f in figures.items():
        print(
            f"{tool}: p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, mean {f['mean_ms']} ms "
            f"over {f['calls']} calls ({f['errors']} errors)"
        )
    print(f"total {time.perf_counter() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
