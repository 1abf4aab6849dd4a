"""Where Osler keeps its data and finds the shared sample data; environment first."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "OSLER_DATA_DIR"
SHARED_DATA_ENV = "OSLER_SHARED_DATA"


def data_dir(explicit: Path | str | None = None) -> Path:
    """The data directory: an explicit path, else $OSLER_DATA_DIR, else the per-user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return Path(platformdirs.user_data_dir("osler"))


def shared_data_dir() -> Path:
    """The shared sample data: $OSLER_SHARED_DATA, else ../shared/data beside the checkout."""
    if os.environ.get(SHARED_DATA_ENV):
        return Path(os.environ[SHARED_DATA_ENV]).expanduser()
    return Path(__file__).resolve().parents[3] / "shared" / "data"
