"""The WorkspaceAPI each request reads through: one per server thread (SQLite), or a shared remote one."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Union

from xpm_core.plugin import WorkspaceAPI


class WorkspaceSource:
    """Hands each thread the :class:`WorkspaceAPI` it must use.

    Given a directory, every thread opens its own API (an SQLite connection belongs to the
    thread that opened it). Given an API-like object (a remote workspace's proxy), that object
    is shared, and calls through it are serialised by :attr:`lock`.
    """

    def __init__(self, workspace: Union[str, os.PathLike, Any]) -> None:
        self._local = threading.local()
        self._opened: list[WorkspaceAPI] = []
        self._opened_lock = threading.Lock()
        self.lock = threading.RLock()
        if isinstance(workspace, (str, os.PathLike)):
            self.path = Path(workspace).expanduser().absolute()
            self._shared: Any = None
            WorkspaceAPI(self.path)  # fails now, with a clear message, when there is no workspace
        else:
            self._shared = workspace
            self.path = Path(str(workspace.path))

    @property
    def shared(self) -> bool:
        return self._shared is not None

    def api(self) -> Any:
        """This thread's API (a :class:`WorkspaceAPI` or the shared proxy)."""
        if self._shared is not None:
            return self._shared
        api = getattr(self._local, "api", None)
        if api is None:
            api = WorkspaceAPI(self.path)
            self._local.api = api
            with self._opened_lock:
                self._opened.append(api)
        return api

    def close(self) -> None:
        """Close the APIs this source opened (a shared one belongs to whoever gave it)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for api in opened:
            try:
                api.close()
            except Exception:  # a connection of another thread: SQLite may refuse; it dies with it
                pass
