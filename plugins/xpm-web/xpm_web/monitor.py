"""The ``web`` monitor: serves the web app while it runs and pushes the workspace's changes to open pages."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional, TextIO, Union

from xpm_core.plugin import Monitor
from xpm_web.changes import ChangeFeed


class WebMonitor(Monitor):
    """A web server showing the workspace; its refresh thread polls the index's change token.

    Built by ``xpm experiments monitor``, ``xpm run-experiment --port`` and
    ``experiment(..., port=...)`` as ``WebMonitor(workspace, experiment_id=..., run_id=...,
    port=..., host=...)``. :meth:`start` prints the URL to open (with its token) on one line.
    """

    #: Seconds between two looks at the change token: a job's new state reaches a page within it.
    interval = 0.25

    def __init__(
        self,
        workspace: Union[str, Path, Any],
        *,
        experiment_id: Optional[str] = None,
        run_id: Optional[str] = None,
        interval: Optional[float] = None,
        port: Optional[int] = None,
        host: Optional[str] = None,
        token: Optional[str] = None,
        stream: Optional[TextIO] = None,
    ) -> None:
        """
        :param port: where to listen (default 12345, or a free port if it is taken; 0: any free port).
        :param host: the address to listen on (default 127.0.0.1; any other prints a warning).
        :param token: the token the URL carries (default: ``$XPM_WEB_TOKEN``, else a random one).
        :param stream: where the URL line and warnings go (default: standard error).
        """
        super().__init__(workspace, experiment_id=experiment_id, run_id=run_id, interval=interval)
        # A directory: the refresh thread opens (and close() closes) its own API; a given one is the caller's.
        self._owns_api = self._api is None
        from xpm_web.access import new_token

        self.port = port
        self.host = host
        self.token = token or os.environ.get("XPM_WEB_TOKEN") or new_token()
        self.stream = stream if stream is not None else sys.stderr
        self.changes = ChangeFeed()
        self._server: Any = None
        self._app: Any = None
        #: The URL of the started server, token included (None until :meth:`start`).
        self.url: Optional[str] = None
        self.base_url: Optional[str] = None
        self._log_handler: Optional[logging.Handler] = None

    @property
    def app(self) -> Any:
        """The flask app (made on first use)."""
        if self._app is None:
            from xpm_web.app import create_app

            self._app = create_app(self._api if self._api is not None else self.workspace, token=self.token,
                                   experiment_id=self.experiment_id, run_id=self.run_id, changes=self.changes,
                                   poll_interval=self.interval)
        return self._app

    def start(self) -> None:
        if self.started or self.closed:
            return
        from xpm_web.server import WebServer, is_loopback

        self._server = WebServer(self.app, host=self.host, port=self.port)
        self._server.start()
        self.base_url = self._server.base_url
        self.url = f"{self.base_url}/?token={self.token}"
        if not is_loopback(self._server.host):
            print(f"xpm web: warning: listening on {self._server.host}, not only on this machine: anyone "
                  "who can reach it and has the token can kill and delete jobs", file=self.stream)
        print(f"xpm web monitor: open {self.url}", file=self.stream, flush=True)
        self._show_actions()
        super().start()

    def _show_actions(self) -> None:
        """Write the actions done from the pages (kill, clean) and the refusals to the monitor's
        stream, unless the program configured logging itself."""
        logger = logging.getLogger("xpm.web")
        if logger.handlers or logging.getLogger().handlers:
            return
        self._log_handler = logging.StreamHandler(self.stream)
        self._log_handler.setFormatter(logging.Formatter("xpm web: %(message)s"))
        logger.addHandler(self._log_handler)
        logger.setLevel(logging.INFO)

    def refresh(self) -> None:
        self.changes.publish(str(self.api.change_token()))

    def _closed_hook(self) -> None:
        self.changes.close()
        if self._log_handler is not None:
            logging.getLogger("xpm.web").removeHandler(self._log_handler)
        if self._server is not None:
            self._server.close()
        if self._app is not None:
            self._app.extensions["xpm_web"].source.close()
        if self._owns_api and self._api is not None:
            try:
                self._api.close()
            except Exception:  # opened by the refresh thread: SQLite may refuse another thread
                pass
