"""The live progress line of ``xpm run-experiment``: job counts on stderr while the experiment runs."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Iterable, TextIO

import attrs

from xpm_core.plugin.job_state import JobState

#: Seconds between two refreshes of the line on a terminal, and between two lines in a log file.
TERMINAL_INTERVAL = 0.5
LOG_INTERVAL = 5.0

_WAITING = frozenset({JobState.UNSCHEDULED, JobState.WAITING, JobState.READY, JobState.SCHEDULED})


@attrs.frozen
class StateCounts:
    """How many jobs are done, running, waiting (not started yet) and failed."""

    done: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0

    @classmethod
    def of(cls, states: Iterable[JobState]) -> StateCounts:
        done = running = waiting = failed = 0
        for state in states:
            if state is JobState.DONE:
                done += 1
            elif state is JobState.RUNNING:
                running += 1
            elif state is JobState.ERROR:
                failed += 1
            elif state in _WAITING:
                waiting += 1
        return cls(done, running, waiting, failed)

    @property
    def total(self) -> int:
        return self.done + self.running + self.waiting + self.failed

    def __str__(self) -> str:
        return f"{self.done} done, {self.running} running, {self.waiting} waiting, {self.failed} failed"


class ProgressLine:
    """Writes ``jobs: 2 done, 1 running, 3 waiting, 0 failed`` to ``stream`` from a thread.

    On a terminal the line is rewritten in place; elsewhere (a log file, a pipe) a new line is
    written when the counts changed: the first at once, then at most one every ``LOG_INTERVAL``
    seconds, so logs stay short.
    """

    def __init__(self, states: Callable[[], Iterable[JobState]], stream: TextIO | None = None) -> None:
        """:param states: returns the current state of every job (called from the thread)."""
        self._states = states
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xpm-progress", daemon=True)
        self._last: StateCounts | None = None
        self._last_time = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; on a terminal, erase the line so that what follows starts clean."""
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join()
        if self._tty and self._last is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def _due(self, counts: StateCounts) -> bool:
        if counts.total == 0 or counts == self._last:
            return False
        # In a log, the first counts at once, then at most one line every LOG_INTERVAL seconds.
        return self._tty or self._last is None or time.monotonic() - self._last_time >= LOG_INTERVAL

    def _loop(self) -> None:
        while not self._stop.wait(TERMINAL_INTERVAL):
            # A job list changing while read (a submission) is read again next time.
            try:
                counts = StateCounts.of(list(self._states()))
            except RuntimeError:
                continue
            if not self._due(counts):
                continue
            text = f"jobs: {counts}"
            if self._tty:
                self._stream.write(f"\r\x1b[K{text}")
            else:
                self._stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self._stream.flush()
            self._last, self._last_time = counts, time.monotonic()
