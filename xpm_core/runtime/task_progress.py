"""What a running task calls to report its progress: ``progress(value, level, desc)`` and ``tqdm(...)``.

In the job process (rank 0, see ``xpm_core.run``) a reporter keeps the levels in memory and a
background thread writes them to the job folder (``progress_file``) at most once per
:data:`WRITE_INTERVAL` seconds, so calling :func:`progress` in a tight loop costs a comparison
and a list update. Anywhere else (another rank, ``xpm run``, plain Python) it reports nothing,
except to the log when ``console=True``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from xpm_core.runtime.progress_file import progress_text, write_progress

logger = logging.getLogger("xpm.progress")

#: Seconds between two writes of the progress file (a change is written at most this late).
WRITE_INTERVAL = 0.5


class ProgressReporter:
    """The progress levels of the running job, written to its folder by a daemon thread."""

    def __init__(self, job_dir: Path, interval: float = WRITE_INTERVAL) -> None:
        self.job_dir = job_dir
        self.interval = interval
        self.levels: list[dict[str, Any]] = []
        self.console = False
        self._lock = threading.Lock()  # guards levels against the writer's snapshot
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._written: Optional[list[dict[str, Any]]] = None
        self._thread: Optional[threading.Thread] = None

    def set(self, value: float, level: int = 0, desc: Optional[str] = None, console: bool = False) -> None:
        """Set ``level`` to ``value`` (in [0, 1]); deeper levels are dropped, as a new outer step begins."""
        value = min(max(float(value), 0.0), 1.0)
        level = max(int(level), 0)
        levels = self.levels
        if (len(levels) == level + 1 and levels[level]["value"] == value
                and (not desc or desc == levels[level]["desc"]) and console == self.console):
            return  # nothing new: the common case of a loop reporting more often than it advances
        with self._lock:
            del levels[level + 1:]
            while len(levels) <= level:
                levels.append({"level": len(levels), "value": 0.0, "desc": None})
            levels[level]["value"] = value
            if desc:
                levels[level]["desc"] = desc
            self.console = console
        if not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xpm-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._closed:
                return
            self._wake.clear()
            self.flush()
            time.sleep(self.interval)  # the rate limit: changes meanwhile are written next round

    def flush(self) -> None:
        """Write the levels now if they changed since the last write."""
        with self._write_lock:
            with self._lock:
                snapshot = [dict(level) for level in self.levels]
            if snapshot == self._written:
                return
            try:
                write_progress(self.job_dir, snapshot)
            except OSError as exc:  # a full or read-only disk must not fail the task
                logger.warning("could not write the job's progress: %s", exc)
            self._written = snapshot
            if self.console:
                logger.info("progress: %s", progress_text(snapshot))

    def close(self) -> None:
        """Write the last levels and stop the writer thread."""
        self._closed = True
        self._wake.set()
        self.flush()


_reporter: Optional[ProgressReporter] = None


def start_reporting(job_dir: Path) -> ProgressReporter:
    """Called by the job process (rank 0 only): :func:`progress` now reports to ``job_dir``."""
    global _reporter
    _reporter = ProgressReporter(job_dir)
    return _reporter


def stop_reporting() -> None:
    """Called when the task has ended: write the last progress; later calls report nothing."""
    global _reporter
    reporter, _reporter = _reporter, None
    if reporter is not None:
        reporter.close()


def progress(value: float, level: int = 0, desc: Optional[str] = None, console: bool = False) -> None:
    """Report the running task's progress: ``value`` in [0, 1] at ``level`` (0 is the outermost).

    Setting a level drops the deeper ones (a new epoch restarts its batches). ``desc`` names what
    the level counts and is kept until a new one is given. ``console=True`` also logs the progress.
    Outside a job's main process, only ``console=True`` has an effect (a log line).
    """
    reporter = _reporter
    if reporter is not None:
        reporter.set(value, level, desc, console)
    elif console:
        logger.info("progress: %s", progress_text([{"level": level, "value": value, "desc": desc}]))


# ---- tqdm ----------------------------------------------------------------------------------------

_open_bars = 0  # nesting depth of the minimal bars, their progress level


class MinimalProgressBar:
    """What :func:`tqdm` returns when the ``tqdm`` package is not installed: it draws nothing but
    reports its progress (``n / total``) at its nesting level."""

    def __init__(self, iterable: Optional[Iterable[Any]] = None, desc: Optional[str] = None,
                 total: Optional[float] = None, position: Optional[int] = None, **_: Any) -> None:
        global _open_bars
        self.iterable = iterable
        self.desc = desc
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.n: float = 0
        self.level = position if position is not None else _open_bars
        self._open = True
        _open_bars += 1
        progress(0.0, level=self.level, desc=desc)

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress bar has no iterable: give one to tqdm(...) or call update()")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> MinimalProgressBar:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def update(self, n: float = 1) -> None:
        self.n += n
        if self.total:
            progress(self.n / self.total, level=self.level)

    def set_description(self, desc: Optional[str] = None, refresh: bool = True) -> None:
        self.desc = desc
        if desc and self.total:
            progress(self.n / self.total, level=self.level, desc=desc)

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        global _open_bars
        if self._open:
            self._open = False
            _open_bars = max(_open_bars - 1, 0)


_tqdm_class: Optional[type] = None


def _progress_tqdm_class() -> type:
    """A subclass of ``tqdm.auto.tqdm`` that also reports, or :class:`MinimalProgressBar`."""
    global _tqdm_class
    if _tqdm_class is not None:
        return _tqdm_class
    try:
        from tqdm.auto import tqdm as base
    except ImportError:  # tqdm is optional: reporting still works without a drawn bar
        _tqdm_class = MinimalProgressBar
        return _tqdm_class

    class ProgressTqdm(base):  # type: ignore[misc,valid-type]
        """tqdm, reporting ``n / total`` as the job's progress at the bar's position."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            progress(0.0, level=self._xpm_level(), desc=kwargs.get("desc"))

        def _xpm_level(self) -> int:
            return abs(int(getattr(self, "pos", 0) or 0))

        def _xpm_report(self) -> None:
            if self.total:
                progress(self.n / self.total, level=self._xpm_level())

        def update(self, n: float = 1) -> Any:
            result = super().update(n)
            self._xpm_report()
            return result

        def close(self) -> None:
            self._xpm_report()  # tqdm's fast iteration updates n without calling update() at the end
            super().close()

    _tqdm_class = ProgressTqdm
    return _tqdm_class


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """``tqdm.auto.tqdm(...)`` that also reports the job's progress (a minimal bar without tqdm)."""
    return _progress_tqdm_class()(*args, **kwargs)
