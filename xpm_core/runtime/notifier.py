"""Delivering work off the scheduler's hot path: a queue drained by one daemon thread.

Event hooks (monitors) and index updates go through notifiers, so a monitor that raises, or
hangs, never delays a job: the scheduler only appends to a queue. There is one notifier of each
kind per process (:func:`shared`), made on first use: an experiment records its run without
starting the scheduler, which waits for the first submitted task.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

logger = logging.getLogger("xpm.notifier")


class Notifier:
    """Runs posted calls one after the other, in posting order, in a background thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple, dict] | None] = (
            queue.SimpleQueue()
        )
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._drain, name=f"xpm-{name}", daemon=True)
        self._thread.start()

    def post(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``function(*args, **kwargs)`` later; exceptions are logged, never raised."""
        with self._idle:
            self._pending += 1
        self._queue.put((function, args, kwargs))

    def flush(self, timeout: float) -> bool:
        """Wait until every posted call ran; ``False`` if some were still pending at ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            function, args, kwargs = item
            try:
                function(*args, **kwargs)
            except Exception:
                logger.exception("%s: %s failed", self.name, getattr(function, "__qualname__", function))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


_shared: dict[str, Notifier] = {}
_shared_lock = threading.Lock()


def shared(name: str) -> Notifier:
    """The process's notifier called ``name`` ("records": index updates, "hooks": plugin events)."""
    with _shared_lock:
        notifier = _shared.get(name)
        if notifier is None:
            notifier = _shared[name] = Notifier(name)
        return notifier


class Notifiers:
    """A run's stand-in for the scheduler until its first task: the process's notifiers only.

    Recording a run's start and end goes through ``records`` and ``hooks`` as with the
    scheduler, which holds the same notifiers; a run without tasks thus never starts the
    scheduler, its asyncio loop or its launchers.
    """

    def __init__(self) -> None:
        self.records = shared("records")
        self.hooks = shared("hooks")

    def detach(self, jobs: list[Any]) -> None:
        """Nothing was scheduled: nothing to detach."""
