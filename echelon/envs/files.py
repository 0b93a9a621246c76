"""File output that never loses or half-writes anything.

- Files are written to a temporary name in the same folder and moved into place with
  :func:`os.replace` (atomic on POSIX and Windows), or linked into place when the name must not
  exist yet, so a reader sees the old file or the whole new one.
- A folder of results is filled under a temporary name and renamed into place when complete.
- Files and folders get the permissions the user's umask gives (``mkstemp`` alone gives 0600,
  unreadable to the class or team sharing a folder).
- A write that fails for want of space or on a read-only file system says so and names the path
  it was writing (the bare OSError names neither).
- An :class:`Output` is planned before the work starts: :meth:`Output.check` fails at once when
  the place cannot be written or an explicit name is taken, and a default name (``results/NAME``)
  taken meanwhile by another run becomes the next free one (``NAME-2``, ...) at write time
  instead of discarding the work.

Used by benchmarks, studies, training run folders and checkpoints, and saved games alike.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import glob
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from echelon.envs.errors import ConfigError

MAX_INPUT_BYTES = 256 * 2**20
"""Largest input file read (a scenario, config, history, saved game or run-folder record): a bound on memory."""


def read_input(path: Path, what: str, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """A user's input file, read whole but bounded: a regular file (never a FIFO, device or folder, which could
    block or never end) of at most ``max_bytes``. :class:`~envs.errors.ConfigError` for those, naming the file
    and ``what`` it should be; ``OSError`` where the system cannot read it."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a pipe" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a file")
        raise ConfigError(f"{path}: {kind}, not a regular file: give {what} as a file")
    if info.st_size > max_bytes:
        raise ConfigError(f"{path}: {info.st_size:,} bytes is more than {what} may hold ({max_bytes:,})")
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ConfigError(f"{path}: more than {max_bytes:,} bytes, more than {what} may hold")
    return data


def temporary_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` to fill and then rename into place, with the permissions the
    umask gives a folder (``mkdtemp`` alone gives 0700). Its name carries this process's id after
    ``prefix``, so that :func:`sweep_stale` can tell the leftovers of a killed process from a live one's."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def sweep_stale(parent: Path, prefix: str) -> None:
    """Delete the temporary folders ``prefix<pid>.*.tmp`` in ``parent`` whose process is gone (a run killed
    while it wrote); a live process's are left alone."""
    if not parent.is_dir():
        return
    for leftover in parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = leftover.name[len(prefix):].split(".", 1)[0]
        if pid.isdecimal() and leftover.is_dir() and not leftover.is_symlink() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # (another user's process, or a number no process has: left alone either way)
    return True


_REASONS = {
    errno.ENOSPC: "the disk is full (no space left on device)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def explained(path: Path, exc: OSError) -> OSError:
    """``exc`` as one line naming ``path`` and the reason in words (disk full, read-only, ...); others as they are."""
    reason = _REASONS.get(exc.errno or 0)
    if reason is None:
        return exc
    err = OSError(f"{path}: cannot write: {reason}")
    err.errno = exc.errno
    return err


@contextlib.contextmanager
def writing(path: Path):  # noqa: ANN201 - a context manager
    """Inside it, a failed write raises :func:`explained`'s one line for ``path``."""
    try:
        yield
    except OSError as exc:
        new = explained(path, exc)
        if new is exc:
            raise
        raise new from None


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _regular(path: Path) -> bool:
    """A regular file and not a link (what Echelon writes, and all it ever replaces)."""
    info = os.lstat(path)
    return stat.S_ISREG(info.st_mode)


def write_atomic(path: Path, data: bytes | str, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path``: ``path`` is either the old file or the whole new one.

    ``exclusive``: ``path`` must not exist (FileExistsError, nothing written) -- checked and
    claimed in one step, so two writers never both succeed.
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not _regular(path):
        raise FileExistsError(f"{path}: not a regular file (a device, pipe or link); it is never replaced")
    with writing(path):
        return _write_atomic(path, data, exclusive)


def _write_atomic(path: Path, data: bytes | str, exclusive: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if path exists, atomically
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: claim the name, then move the file over it
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_umask()))
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def fresh_dir(parent: Path, name: str, suffix: str = "") -> Path:
    """``parent/name``, or ``parent/name-2``, ``-3``, ... (then ``suffix``): the first that does not exist yet."""
    candidate, n = Path(parent) / f"{name}{suffix}", 1
    while candidate.exists():
        n += 1
        candidate = Path(parent) / f"{name}-{n}{suffix}"
    return candidate


@dataclass(frozen=True)
class Output:
    """Where a command will write: an explicit ``path``, or a default name that may move on to
    ``name-2``, ... (``take_next``) if another run takes it first."""

    path: Path
    take_next: bool = False
    noun: str = "--out"
    name: str = ""  # the default name's stem and suffix, from which name-2, name-3, ... are made
    suffix: str = ""
    replace: bool = False  # an existing file may be replaced (a chart the user named again)

    @classmethod
    def plan(cls, explicit: str | Path | None, parent: Path, name: str, suffix: str = "",
             noun: str = "--out") -> Output:
        """``explicit`` if given (it must not exist), else the first free ``parent/name[-n]suffix``."""
        if explicit is not None:
            return cls(Path(explicit), False, noun)
        return cls(fresh_dir(parent, name, suffix), True, noun, name, suffix)

    def check(self) -> None:
        """Before any work: the nearest existing folder above ``path`` is writable, and an explicit
        ``path`` is free. Raises a one-line OSError naming the path."""
        if self.path.is_dir() and self.replace:
            raise IsADirectoryError(f"{self.path}: is a folder; {self.noun} names a file")
        if self.replace and (self.path.exists() or self.path.is_symlink()) and not _regular(self.path):
            raise FileExistsError(f"{self.path}: not a regular file (a device, pipe or link); {self.noun} replaces "
                                  "only a file it could have written")
        if not self.take_next and not self.replace and (self.path.exists() or self.path.is_symlink()):
            raise FileExistsError(f"{self.path}: already exists; choose another {self.noun} "
                                  "(earlier results are never overwritten)")
        existing = self.path.parent
        while not existing.exists():
            if existing == existing.parent:
                break
            existing = existing.parent
        if not existing.is_dir():
            raise NotADirectoryError(f"{self.path}: cannot write there ({existing} is not a folder)")
        if _read_only(existing):
            raise PermissionError(f"{self.path}: cannot write under {existing} (read-only file system)")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.path}: cannot write under {existing} (permission denied)")

    def _candidates(self) -> list[Path]:
        if not self.take_next:
            return [self.path]
        parent = self.path.parent
        return [self.path] + [parent / f"{self.name}-{n}{self.suffix}" for n in range(2, 10_000)]

    def claim_dir(self) -> Path:
        """Create the folder (exclusively: never one another process made); returns where it went."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for candidate in self._candidates():
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
        raise FileExistsError(f"{self.path}: already exists; choose another {self.noun}")

    def write_file(self, data: bytes | str) -> Path:
        """Write one file under the first free name; returns the path written."""
        if self.replace:
            return write_atomic(self.path, data)
        for candidate in self._candidates():
            try:
                return write_atomic(candidate, data, exclusive=True)
            except FileExistsError:
                continue
        raise FileExistsError(f"{self.path}: already exists; choose another {self.noun}")

    def write_folder(self, files: Mapping[str, bytes | str] | Callable[[Path], None]) -> Path:
        """Fill a temporary folder with ``files`` (names to contents, or a function that fills the
        folder it is given) and move it into place whole; returns where it went."""
        with writing(self.path):
            return self._write_folder(files)

    def _write_folder(self, files: Mapping[str, bytes | str] | Callable[[Path], None]) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(self.path.parent, f".{self.path.name}.")
        tmp = temporary_folder(self.path.parent, f".{self.path.name}.")
        try:
            if callable(files):
                files(tmp)
            else:
                for name, data in files.items():
                    write_atomic(tmp / name, data)
            for candidate in self._candidates():  # one rename, no empty folder claimed first: a kill leaves
                try:                              # the name free (at worst a temporary the next run sweeps)
                    os.rename(tmp, candidate)
                    return candidate
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                        raise
            raise FileExistsError(f"{self.path}: already exists; choose another {self.noun}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def read_csv_rows(path: Path, what: str) -> list[list[str]]:
    """Every row of a CSV file (at least one); unreadable, malformed or empty files raise a ConfigError
    naming the file and ``what`` it is (``CSV file``, ``the demand history``)."""
    try:
        text = read_input(path, what).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.__class__.__name__})") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise ConfigError(f"{path}: {what} is empty")
    return rows
