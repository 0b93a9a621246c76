"""A real ``echelon classroom`` in its own process on a free loopback port, and a JSON POST helper: what
the load test (``echelon speed --classroom``) and the kill and browser tests drive."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post_json(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """POST ``body`` as JSON (with the teacher's ``token`` if given); the reply's JSON."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class ServerProcess:
    """``python -m echelon classroom --db DB --port P``; ``teacher`` is the token it prints, ``url`` its
    address. Its output is drained by a thread (``log``) so it never blocks on a full pipe."""

    def __init__(self, db: Path, port: int | None = None, timeout: float = 60.0, max_files: int | None = None,
                 options: tuple[str, ...] = ()):
        """``options``: more of ``echelon classroom``'s options (``--join-limit 0`` for a load test)."""
        self.db, self.port = db, port or free_port()

        def limited() -> None:  # (in the child: at most max_files open files, soft and hard)
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "echelon", "classroom", "--db", str(db), "--port", str(self.port), *options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limited if max_files is not None else None)
        assert self.process.stdout is not None
        self.teacher, self.log = "", []
        for line in self.process.stdout:
            self.log.append(line)
            found = re.search(r"/teacher#(\S+)", line)
            if found:
                self.teacher = found.group(1)
                break
        if not self.teacher:
            self.process.wait(10)
            raise RuntimeError("the classroom server did not start: " + "".join(self.log).strip())
        threading.Thread(target=lambda: self.log.extend(self.process.stdout), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the classroom server did not start listening")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
