"""Fuzz every route of the web app and API: random and adversarial paths, queries, bodies,
headers and encodings; counts the responses by status and fails on any 5xx.

Usage: python benchmarks/fuzz_api.py --data-dir DIR [--requests 10000] [--seed 1]

The app runs in process (FastAPI's TestClient) over a private copy of the data dir (the fuzz
writes conversations, drafts and failed sign-ins); the routes come from its /openapi.json plus
the HTML pages. Bounded by --requests. Prints the status counts, the requests/s and every 5xx
(method, path, what was sent); exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from osler.store import open_store
from osler.web.app import create_app

#: Pages that /openapi.json does not list (include_in_schema=False).
PAGES = [
    ("GET", "/"),
    ("GET", "/ask"),
    ("GET", "/docs"),
    ("GET", "/passages/{passage_id}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/review"),
    ("GET", "/review/{article_id}"),
    ("GET", "/articles/{article_id}"),
    ("GET", "/policy"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/audit"),
]

#: Strings that have broken web apps: markup, injection, encodings, sizes, control characters.
NASTY = [
    "",
    " ",
    "a" * 5000,
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' OR '1'='1",
    "'; DROP TABLE articles; --",
    "../../../../etc/passwd",
    "%2e%2e%2f%2e%2e%2f",
    "\x00",
    "nul\x00inside",
    "\ud800",
    "\u202e\u200b\ufeff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🩺💊",
    "What is the treatment for gout?",
    "afib",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "null",
    "[]",
    "{}",
    "\r\nSet-Cookie: x=1",
]

HEADER_NAMES = ["content-type", "authorization", "cookie", "x-forwarded-for", "accept", "origin"]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/json; charset=latin-1",
    "",
]


def routes(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation in /openapi.json, and the pages."""
    spec = client.get("/openapi.json").json()
    out = [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    known = {(m, p) for m, p, _ in out}
    out += [(m, p, {}) for m, p in PAGES if (m, p) not in known]
    return out


def value(rng: random.Random, samples: list[str]) -> Any:
    """A random value: a nasty string, a sample id, a number, a structure."""
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(NASTY)
    if kind < 0.65 and samples:
        return rng.choice(samples)
    if kind < 0.8:
        return rng.choice([0, -1, 1, 3, 10**12, 1.5, True, False, None])
    if kind < 0.9:
        return [rng.choice(NASTY) for _ in range(rng.randint(0, 3))]
    return {rng.choice(NASTY): rng.choice(NASTY)}


def fill(path: str, rng: random.Random, samples: list[str]) -> str:
    """The path with each {parameter} replaced by a sample id or a nasty string."""
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        raw = rng.choice(samples) if samples and rng.random() < 0.5 else str(rng.choice(NASTY))
        safe = "".join(c if c.isprintable() and c not in "?#" else "_" for c in raw) or "x"
        path = path[:start] + safe.lstrip("/") + path[end + 1 :]
    return path


def body(op: dict[str, Any], rng: random.Random, samples: list[str]) -> Any:
    """A JSON body: the operation's own fields with random values, extra fields, or garbage."""
    schema = (
        op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    )
    fields = list(schema.get("properties", {}))
    if "$ref" in schema:
        fields = ["question", "audience", "conversation_id", "llm", "revision", "answer",
                  "regenerate", "comment", "action"]
    kind = rng.random()
    if kind < 0.6:
        return {f: value(rng, samples) for f in fields if rng.random() < 0.8}
    if kind < 0.8:
        return value(rng, samples)
    return {"question": rng.choice(NASTY), "audience": rng.choice(["patient", "clinician", "x"])}


def request(
    client: TestClient, method: str, path: str, op: dict[str, Any], rng: random.Random,
    samples: list[str],
) -> tuple[int, str]:
    url = fill(path, rng, samples)
    params = {
        rng.choice(["q", "k", "audience", "c", "next", "status", rng.choice(NASTY)[:20] or "z"]):
        str(value(rng, samples))[:300]
        for _ in range(rng.randint(0, 3))
    }
    headers = {}
    for name in rng.sample(HEADER_NAMES, rng.randint(0, 3)):
        headers[name] = (
            rng.choice(CONTENT_TYPES) if name == "content-type"
            else rng.choice(["Bearer " + rng.choice(NASTY)[:50], "x", "1.2.3.4, 5.6.7.8"])
        )
    headers = {k: v.encode("utf-8", "replace").decode("latin-1") for k, v in headers.items()}
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if method in {"POST", "PUT", "PATCH"}:
        choice = rng.random()
        if choice < 0.6:
            kwargs["content"] = json.dumps(body(op, rng, samples)).encode("utf-8", "surrogatepass")
        elif choice < 0.8:
            kwargs["data"] = {str(k)[:40]: str(v)[:300] for k, v in
                              {"username": value(rng, samples), "password": value(rng, samples),
                               "csrf": "x", "question": value(rng, samples)}.items()}
        else:
            kwargs["content"] = rng.randbytes(rng.randint(0, 2000))
    response = client.request(method, url, **kwargs)
    return response.status_code, url


def samples_of(data_dir: Path) -> list[str]:
    """Real document and passage ids, so that some requests reach real records."""
    store = open_store(data_dir)
    try:
        docs = store.document_ids()[:50]
        passages = [p.id for d in docs[:10] for p in store.passages(d)[:3]]
    finally:
        store.close()
    return docs + passages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="osler-fuzz-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("dense-*"))
        samples = samples_of(data)
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        with TestClient(create_app(data, rate_per_minute=0), raise_server_exceptions=False) as c:
            ops = routes(c)
            began = time.perf_counter()
            for i in range(args.requests):
                method, path, op = rng.choice(ops)
                try:
                    status, url = request(c, method, path, op, rng, samples)
                except Exception as exc:  # the client could not even send it: not the app's fault
                    statuses[-1] += 1
                    if statuses[-1] <= 3:
                        print(f"unsendable request {method} {path}: {type(exc).__name__}: {exc}")
                    continue
                statuses[status] += 1
                if status >= 500:
                    failures.append(f"{status} {method} {url}")
                if (i + 1) % 1000 == 0:
                    print(f"  {i + 1:,} requests, {sum(v for k, v in statuses.items() if k >= 500)} 5xx",
                          file=sys.stderr)
            seconds = time.perf_counter() - began
    print(f"{args.requests:,} requests over {len(ops)} routes in {seconds:.0f} s "
          f"({args.requests / seconds:,.0f}/s), seed {args.seed}")
    print("status counts:", dict(sorted(statuses.items())))
    five = sum(v for k, v in statuses.items() if k >= 500)
    print(f"5xx: {five}")
    for line in failures[:20]:
        print("  ", line)
    return 1 if five else 0


if __name__ == "__main__":
    raise SystemExit(main())
