"""Load test on loopback: N concurrent clients asking a mix of real questions for T seconds.

Usage: python benchmarks/load.py [--data-dir DIR] [--clients 50] [--seconds 60]
Starts `osler serve` on a free loopback port (rate limit off), prints requests/s, p50/p99
latency and the error count, then stops the server. Bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from osler.settings import load

MAX_REQUESTS = 100_000


def questions(n: int = 200, seed: int = 7) -> list[str]:
    """A seeded mix: MedQuAD consumer questions and BioASQ expert questions."""
    shared = load().shared_data
    with open(shared / "medquad" / "medquad.jsonl", encoding="utf-8") as fh:
        medquad = [json.loads(line)["question"] for line in fh]
    bioasq = [
        q["body"]
        for f in sorted((shared / "bioasq").rglob("*_golden.json"))
        for q in json.loads(f.read_text(encoding="utf-8"))["questions"]
    ]
    rng = random.Random(seed)
    return rng.sample(medquad, n // 2) + rng.sample(bioasq, n - n // 2)


async def client(base: str, qs: list[str], until: float, out: list[float], errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until and len(out) + len(errors) < MAX_REQUESTS:
            started = time.perf_counter()
            try:
                r = await http.post("/api/ask", json={"question": rng.choice(qs)})
                if r.status_code == 200:
                    out.append(time.perf_counter() - started)
                else:
                    errors.append(f"HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)


async def run(base: str, clients: int, seconds: float) -> tuple[list[float], list[str], float]:
    qs = questions()
    latencies: list[float] = []
    errors: list[str] = []
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(*(client(base, qs, until, latencies, errors, i) for i in range(clients)))
    return latencies, errors, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    if args.data_dir:
        env["OSLER_DATA_DIR"] = str(args.data_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "osler", "serve", "--port", str(port), "--rate", "0"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(base + "/healthz", timeout=2).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not come up") from None
                time.sleep(0.5)
        latencies, errors, elapsed = asyncio.run(run(base, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    print(f"corpus           {health['documents']:,} documents (corpus version {health['corpus_version']})")
    print(f"clients          {args.clients} for {elapsed:.0f} s on loopback")
    print(f"requests         {len(latencies) + len(errors):,}")
    print(f"requests/s       {len(latencies) / elapsed:.1f}")
    if ms:
        print(f"latency p50      {statistics.median(ms):.0f} ms")
        print(f"latency p99      {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.0f} ms")
    print(f"errors           {len(errors)}" + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))


if __name__ == "__main__":
    main()
