"""Load test on loopback: N concurrent clients asking a mix of real questions for T seconds.

Usage: python benchmarks/load.py [--data-dir DIR] [--clients 50] [--seconds 60]
                                 [--endpoint ask|search] [--attackers 4] [--baseline]
Starts `osler serve` on a free loopback port (rate limit off), prints requests/s, p50/p99
latency and the error count, then stops the server. Bounded in time and count.

`--attackers N` adds N clients posting wrong passwords to /login for the whole run (each with
the sign-in form's CSRF token, so every attempt reaches the password check or the throttle);
`--baseline` first runs the same load without them, for the quiet figure to compare with.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
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


async def client(
    base: str, qs: list[str], until: float, out: list[float], errors: list[str], seed: int,
    endpoint: str = "ask",
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until and len(out) + len(errors) < MAX_REQUESTS:
            started = time.perf_counter()
            try:
                if endpoint == "search":
                    r = await http.get("/api/search", params={"q": rng.choice(qs)})
                else:
                    r = await http.post("/api/ask", json={"question": rng.choice(qs)})
                if r.status_code == 200:
                    out.append(time.perf_counter() - started)
                else:
                    errors.append(f"HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def attacker(base: str, until: float, tally: Counter[int], seed: int) -> None:
    """Wrong passwords for made-up and real-looking names, as fast as the server answers."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until and sum(tally.values()) < MAX_REQUESTS:
            try:
                form = await http.get("/login")
                token = _CSRF.search(form.text)
                r = await http.post(
                    "/login",
                    data={
                        "name": rng.choice(["admin", "reviewer", f"user{rng.randint(1, 500)}"]),
                        "password": f"wrong-{rng.random()}",
                        "csrf": token.group(1) if token else "",
                    },
                )
                tally[r.status_code] += 1
            except httpx.HTTPError:
                tally[-1] += 1


async def run(
    base: str, clients: int, seconds: float, endpoint: str = "ask", attackers: int = 0
) -> tuple[list[float], list[str], float, Counter[int]]:
    qs = questions()
    latencies: list[float] = []
    errors: list[str] = []
    tally: Counter[int] = Counter()
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(
        *(client(base, qs, until, latencies, errors, i, endpoint) for i in range(clients)),
        *(attacker(base, until, tally, 1000 + i) for i in range(attackers)),
    )
    return latencies, errors, time.monotonic() - began, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--endpoint", choices=["ask", "search"], default="ask")
    parser.add_argument("--attackers", type=int, default=0, help="clients posting wrong passwords")
    parser.add_argument("--baseline", action="store_true", help="first run without attackers")
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
        runs = []
        if args.baseline and args.attackers:
            runs.append(("quiet", asyncio.run(run(base, args.clients, args.seconds, args.endpoint))))
        label = f"with {args.attackers} wrong-password clients" if args.attackers else "load"
        runs.append((label, asyncio.run(
            run(base, args.clients, args.seconds, args.endpoint, args.attackers)
        )))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"corpus           {health['documents']:,} documents (corpus version {health['corpus_version']})")
    for label, (latencies, errors, elapsed, tally) in runs:
        latencies.sort()
        ms = [x * 1000 for x in latencies]
        print(f"--- {label}: {args.clients} clients on /api/{args.endpoint} for {elapsed:.0f} s")
        print(f"requests         {len(latencies) + len(errors):,}")
        print(f"requests/s       {len(latencies) / elapsed:.1f}")
        if ms:
            print(f"latency p50      {statistics.median(ms):.0f} ms")
            print(f"latency p99      {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.0f} ms")
        print(f"errors           {len(errors)}" + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))
        if tally:
            print(f"sign-in attempts {sum(tally.values()):,} by status {dict(sorted(tally.items()))}")


if __name__ == "__main__":
    main()
