"""Question files for `--batch`: one question a line, or JSONL with question/audience."""

from __future__ import annotations

import json
from pathlib import Path

from osler.audience import READERS


def read_batch(path: Path, default_audience: str = "clinician") -> list[dict[str, str]]:
    """Questions (with audience) from a file: one a line, or JSONL with question/audience."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            value = record.get("question") if isinstance(record, dict) else None
            if isinstance(value, str) and value.strip():
                audience = record.get("audience") or default_audience
                if audience not in READERS:
                    audience = default_audience
                out.append({"question": value.strip(), "audience": audience})
        else:
            out.append({"question": line, "audience": default_audience})
    return out


def read_questions(path: Path) -> list[str]:
    """Questions from a file: one a line, or JSONL objects with a "question" field."""
    return [item["question"] for item in read_batch(path)]
