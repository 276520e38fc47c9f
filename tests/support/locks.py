"""A lock between test processes (pytest-xdist workers) for one-time set-up work such as
filling a download cache."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def interprocess_lock(name: str) -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"authrelay-tests-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
