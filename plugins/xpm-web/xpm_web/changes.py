"""Change detection for the live pages: the workspace's change token, polled by one thread, fanned out."""

from __future__ import annotations

import threading
from typing import Callable, Optional


class ChangeFeed:
    """The latest change token of the workspace, and a way to wait for the next one.

    Whoever polls (the monitor's refresh thread, or the feed's own thread when the app runs
    without a monitor) calls :meth:`publish`; every open event stream waits in :meth:`wait`.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._token: Optional[str] = None
        self._version = 0
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    @property
    def version(self) -> int:
        """A number that grows by one whenever the token changes."""
        return self._version

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, token: str) -> bool:
        """Record the current token; wakes the waiting streams if it changed. Returns whether it did."""
        with self._condition:
            if token == self._token:
                return False
            self._token = token
            self._version += 1
            self._condition.notify_all()
            return True

    def wait(self, version: int, timeout: float) -> int:
        """Wait until the version differs from ``version`` (or ``timeout`` seconds, or closing)."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != version or self._closed, timeout)
            return self._version

    def close(self) -> None:
        """Wake every waiting stream for good (the server stops)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def poll_in_background(self, read_token: Callable[[], str], interval: float) -> None:
        """Start (once) a daemon thread publishing ``read_token()`` every ``interval`` seconds."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._closed:
                try:
                    self.publish(read_token())
                except Exception:  # a workspace briefly unreadable: the next poll tells
                    pass
                with self._condition:
                    self._condition.wait_for(lambda: self._closed, interval)

        self._thread = threading.Thread(target=loop, name="xpm-web-changes", daemon=True)
        self._thread.start()
