"""Feedback on long commands, on stderr: what is being done, and how long it took.

At a terminal a live line (rich's spinner, a bar when the number of steps is known, the elapsed
time) is redrawn in place and cleared at the end. Otherwise — a log file, a pipe, a test — one
line per finished stage (``mesovision compare: aligned the photos (2.1 s)``), so a failing stage
prints nothing but its error. With ``--quiet`` nothing at all. Machine output (``--json``) is on
stdout and never mixed with it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["Feedback"]


class Feedback:
    """Stages of one command. Use as a context manager; :meth:`stage` starts a stage (the
    previous one is finished), :meth:`step` advances a counted stage.

    ``stream`` defaults to ``sys.stderr`` (read when the feedback is created)."""

    def __init__(self, command: str, *, quiet: bool = False, stream=None):
        self.command = command
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self._stage: str | None = None
        self._done_as: str | Callable[[], str] | None = None
        self._t0 = 0.0
        self._live = None
        self._task = None
        self._steps = 0

    def __enter__(self) -> Feedback:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._live.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._finish()
        if self._live is not None:
            self._live.stop()
        self._stage = None

    def stage(
        self, doing: str, *, done: str | Callable[[], str] | None = None, total: int | None = None
    ) -> None:
        """Start a stage: ``doing`` is shown while it runs ("aligning the photos"), ``done`` is
        the line printed when it has finished (default: ``doing``; a function is called then,
        for a line that counts what the stage did); ``total`` steps make it a counted stage
        (see :meth:`step`)."""
        self._finish()
        self._stage, self._done_as, self._t0 = doing, done or doing, time.monotonic()
        self._steps = 0
        if self._live is not None:
            if self._task is not None:
                self._live.remove_task(self._task)
            self._task = self._live.add_task(f"{self.command}: {doing}", total=total, visible=True)

    def step(self, label: str | None = None, *, total: int | None = None) -> None:
        """The next step of a counted stage starts (``label`` names it at a terminal; ``total``
        sets the number of steps when the stage did not know it)."""
        self._steps += 1
        if self._live is not None and self._task is not None:
            desc = f"{self.command}: {self._stage}" + (f" ({label})" if label else "")
            self._live.update(self._task, completed=self._steps - 1, total=total, description=desc)

    def _finish(self) -> None:
        if self._stage is None:
            return
        elapsed = time.monotonic() - self._t0
        if not self.quiet and not self.tty:
            done = self._done_as() if callable(self._done_as) else self._done_as
            print(
                f"mesovision {self.command}: {done} ({elapsed:.1f} s)",
                file=self.stream,
                flush=True,
            )
        self._stage = None
