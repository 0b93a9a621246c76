"""A real ``echelon classroom`` process on a free loopback port, for the browser, kill and load tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``python -m echelon classroom --db DB --port P`` in its own process; ``teacher`` is the printed token."""

    def __init__(self, db: Path, port: int | None = None):
        self.db, self.port = db, port or free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "echelon", "classroom", "--db", str(db), "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.teacher = ""
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = re.search(r"/teacher#(\S+)", line)
            if found:
                self.teacher = found.group(1)
                break
            if time.monotonic() > deadline:
                break
        assert self.teacher, "the classroom server did not print its teacher address"
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.process.stdout), daemon=True).start()  # never blocks
        self._wait_listening(deadline)

    def _wait_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the classroom server did not start listening")

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
