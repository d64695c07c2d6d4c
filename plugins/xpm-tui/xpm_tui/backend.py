"""The TUI's one door to the workspace: every WorkspaceAPI call runs in a single dedicated thread.

A local :class:`~xpm_core.plugin.WorkspaceAPI` holds an SQLite connection that belongs to the
thread that opened it, and a remote proxy need not be thread-safe: so the API is opened and
used in one thread only, and the UI awaits its answers without ever blocking on them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from xpm_core.plugin import WorkspaceAPI

T = TypeVar("T")


class Backend:
    """Runs ``function(api)`` in the API's thread; ``open_api`` is called there, once, on first use."""

    def __init__(self, open_api: Callable[[], WorkspaceAPI]) -> None:
        self._open_api = open_api
        self._api: WorkspaceAPI | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="xpm-tui-api")
        self._lock = threading.Lock()
        self._closed = False
        #: Whether the call running now may be interrupted (:meth:`interrupt`).
        self._interruptible = False

    def _invoke(self, function: Callable[[WorkspaceAPI], T], interruptible: bool = False) -> T:
        if self._api is None:
            self._api = self._open_api()
        with self._lock:
            self._interruptible = interruptible
        try:
            return function(self._api)
        finally:
            with self._lock:
                self._interruptible = False

    def submit(self, function: Callable[[WorkspaceAPI], T], interruptible: bool = False) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the workspace connection of the TUI is closed")
            return self._executor.submit(self._invoke, function, interruptible)

    async def call(self, function: Callable[[WorkspaceAPI], T], *, interruptible: bool = False) -> T:
        """Await ``function(api)``; cancelling the caller drops the call if it has not started yet.

        ``interruptible``: a read that :meth:`interrupt` may stop while it runs (a count).
        """
        return await asyncio.wrap_future(self.submit(function, interruptible))

    def interrupt(self) -> None:
        """Stop the interruptible call running now, if any (its caller gets an error): the next
        call need not wait for an answer nobody wants any more."""
        with self._lock:
            interrupt = getattr(self._api, "interrupt", None) if self._interruptible else None
            if callable(interrupt):
                interrupt()

    def call_sync(self, function: Callable[[WorkspaceAPI], T], timeout: float | None = None) -> T:
        """``function(api)`` from a thread that may block (the monitor's refresh thread)."""
        return self.submit(function).result(timeout)

    def close(self) -> None:
        """Close the API in its thread (what was queued runs first); calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._executor.submit(self._close_api)
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _close_api(self) -> None:
        close: Any = getattr(self._api, "close", None)
        if callable(close):
            close()
        self._api = None
