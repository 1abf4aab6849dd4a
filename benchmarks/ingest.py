"""Ingest all of the shared data into a fresh data dir; print throughput, peak RSS, store size.

Usage: python benchmarks/ingest.py [PATH ...]   (default: $OSLER_SHARED_DATA or ../shared/data)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from osler.settings import load


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(paths: list[str]) -> None:
    targets = paths or [str(load().shared_data)]
    with tempfile.TemporaryDirectory(prefix="osler-bench-") as tmp:
        env = {**os.environ, "OSLER_DATA_DIR": tmp}
        cmd = [sys.executable, "-m", "osler", "ingest", *targets, "--json"]
        began = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(run.stdout)
        again = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        rerun = time.perf_counter() - again
        store_mb = _size(Path(tmp)) / 1e6
    docs, passages = summary["documents"], summary["passages"]
    print(f"input            {', '.join(targets)}")
    print(f"documents        {docs:,}")
    print(f"passages         {passages:,}")
    print(f"skipped          {len(summary['skipped'])} files/records")
    print(f"wall time        {wall:.1f} s (ingest itself {summary['seconds']:.1f} s)")
    print(f"documents/s      {docs / summary['seconds']:,.0f}")
    print(f"passages/s       {passages / summary['seconds']:,.0f}")
    print(f"peak RSS         {peak_mb:,.0f} MB")
    print(f"store size       {store_mb:,.0f} MB")
    print(f"unchanged re-run {rerun:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
