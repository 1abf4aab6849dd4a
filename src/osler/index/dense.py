"""Dense retrieval (optional extra `osler[dense]`): MiniLM embeddings in faiss."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def open_if_built(data_dir: Path, store: Any) -> None:
    """The dense index of a data dir, or None when the extra or the index is missing."""
    return None


def sync_if_enabled(
    store: Any, data_dir: Path, console: Any, *, quiet: bool, rebuild: bool
) -> None:
    """Build or update the dense index when the extra is installed and enabled."""
    return None
