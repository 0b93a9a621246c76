"""Progress of a long command: a live bar on a terminal, plain periodic lines anywhere else.

rich draws nothing live when stdout is a file or a pipe (CI, ``nohup``, ``| tee``), so a long
``train``, ``benchmark`` or ``study`` would be silent until it ends. There this prints one plain line
every ``ECHELON_PROGRESS_SECONDS`` seconds (default 30) instead: ``study centralization: 12/40
(30%), 1 min 5 s``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from types import TracebackType
from typing import Any

ENV = "ECHELON_PROGRESS_SECONDS"
DEFAULT_EVERY = 30.0


def _every() -> float:
    """The seconds between plain lines, from ``ECHELON_PROGRESS_SECONDS`` (a clear error if it is not a number)."""
    text = os.environ.get(ENV)
    if text is None:
        return DEFAULT_EVERY
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV}={text!r}: expected seconds between progress lines, e.g. 30") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{ENV}={text!r}: expected seconds >= 0 between progress lines, e.g. 30")
    return value


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


class Progress:
    """``with Progress(console, "study x", total) as p: p.advance("cell 3")`` (or ``p.set(done)``)."""

    def __init__(self, console: Any, description: str, total: int) -> None:
        self.console, self.description, self.total = console, description, max(int(total), 1)
        self.every = _every()
        self.live = sys.stdout.isatty()
        self.done = 0
        self._bar: Any = None
        self._task: Any = None
        self._start = self._last = time.perf_counter()

    def __enter__(self) -> Progress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=self.console, transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)

    def advance(self, message: str | None = None) -> None:
        """One more unit done; ``message`` says what is running now."""
        self.set(self.done + 1, message)

    def set(self, completed: int, message: str | None = None) -> None:
        """``completed`` units done."""
        self.done = int(completed)
        if message is not None:
            self.description = message
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=self.description)
            return
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            share = min(self.done / self.total, 1.0)
            self.console.print(f"{self.description}: {self.done:,}/{self.total:,} ({share:.0%}), "
                               f"{_elapsed(now - self._start)}", highlight=False, markup=False)
