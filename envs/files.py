"""Atomic file output: a reader never sees a half-written file or run folder.

Files are written to a temporary name in the same folder and moved into place
with :func:`os.replace` (atomic on POSIX and Windows); a run folder is filled
under a temporary name and renamed when complete. Used by benchmarks, training
checkpoints and saved games alike.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fresh_dir(parent: Path, name: str, suffix: str = "") -> Path:
    """``parent/name``, or ``parent/name-2``, ``-3``, ... (then ``suffix``): the first that does not exist yet."""
    candidate, n = Path(parent) / f"{name}{suffix}", 1
    while candidate.exists():
        n += 1
        candidate = Path(parent) / f"{name}-{n}{suffix}"
    return candidate


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Fill a temporary folder; on success it becomes ``target`` (which must not exist), else it is removed."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target}: already exists; refusing to overwrite an earlier run")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
