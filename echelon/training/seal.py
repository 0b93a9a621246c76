"""Checkpoints sealed by the machine that wrote them, so resuming never unpickles a stranger's files.

A checkpoint holds what training resumes from: Stable-Baselines3 archives and
VecNormalize statistics, Ray's algorithm state: all pickles, which run code when
loaded. Every checkpoint generation therefore gets ``seal.json``: an HMAC-SHA256
of each of its files under a secret key kept on this machine
(``~/.config/echelon/checkpoint.key``, made on first use, readable by its owner
only; ``ECHELON_KEY_FILE`` names another). ``echelon train --resume`` loads a
checkpoint only when its seal verifies, that is when this machine's Echelon wrote
exactly these files; a run folder from elsewhere (or one whose files changed)
resumes only with ``--trust-pickles``, which says what it does. Evaluating a run
folder never unpickles anything (:mod:`agents.policy_export`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from echelon.envs.errors import ConfigError
from echelon.envs.files import write_atomic

SEAL = "seal.json"
KEY_ENV = "ECHELON_KEY_FILE"


def key_file() -> Path:
    return Path(os.environ.get(KEY_ENV) or Path.home() / ".config" / "echelon" / "checkpoint.key")


def machine_key() -> bytes:
    """This machine's secret (32 random bytes), made with owner-only permissions on first use."""
    path = key_file()
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the checkpoint key ({exc.__class__.__name__})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def _digests(folder: Path, key: bytes) -> dict[str, str]:
    """HMAC of every file under ``folder`` but the seal, by relative path."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SEAL):
        mac = hmac.new(key, path.relative_to(folder).as_posix().encode() + b"\0", hashlib.sha256)
        with open(path, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                mac.update(block)
        out[path.relative_to(folder).as_posix()] = mac.hexdigest()
    return out


def seal(folder: Path) -> None:
    """Write ``folder/seal.json`` over everything in it."""
    write_atomic(folder / SEAL, json.dumps(_digests(folder, machine_key()), indent=1, sort_keys=True))


def verify(folder: Path) -> None:
    """Raise a one-line :class:`ConfigError` unless this machine sealed exactly the files in ``folder``."""
    why = ("resume it only if you trust who made it: echelon train --resume RUN --trust-pickles (its checkpoint "
           "files are pickles, which can run code when loaded)")
    try:
        recorded = json.loads((folder / SEAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"{folder}: the checkpoint has no seal of this machine; {why}") from None
    if not isinstance(recorded, dict) or not hmac.compare_digest(
            json.dumps(recorded, sort_keys=True), json.dumps(_digests(folder, machine_key()), sort_keys=True)):
        raise ConfigError(f"{folder}: the checkpoint was not written by this machine's Echelon, or its files "
                          f"changed since; {why}")
