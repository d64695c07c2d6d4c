"""The ``tui`` monitor: runs the Textual app and tells it when the workspace index changed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from xpm_core.plugin import Monitor

if TYPE_CHECKING:
    from xpm_core.plugin import WorkspaceAPI
    from xpm_tui.app import XpmApp


class TuiMonitor(Monitor):
    """An interactive terminal UI over a workspace (a path, or a WorkspaceAPI-like remote proxy).

    It needs the terminal and the main thread (signals, raw mode): :meth:`run` shows it until the
    user quits (``q``) or :meth:`close` is called from another thread. The refresh thread polls
    :meth:`WorkspaceAPI.change_token` every ``interval`` seconds and has the app reload what it
    shows when the token moved. ``headless=True`` runs the app without a terminal (tests); only
    then may :meth:`start` run it in a background thread.
    """

    #: It owns the terminal: ``xpm run-experiment --console`` runs the plan beside it, not under it.
    foreground: ClassVar[bool] = True
    interval = 0.3

    def __init__(
        self,
        workspace: str | Path | WorkspaceAPI,
        *,
        experiment_id: str | None = None,
        run_id: str | None = None,
        interval: float | None = None,
        headless: bool = False,
    ) -> None:
        super().__init__(workspace, experiment_id=experiment_id, run_id=run_id, interval=interval)
        from xpm_tui.app import XpmApp
        from xpm_tui.backend import Backend

        self.headless = headless
        # Every API call, the refresh thread's included, goes through the backend's one thread.
        self.backend = Backend(lambda: self.api)
        self.app: XpmApp = XpmApp(self.backend, title=str(self.workspace), experiment_id=experiment_id,
                                  run_id=run_id)
        self._token: str | None = None
        self._app_thread: threading.Thread | None = None

    # ---- Monitor -------------------------------------------------------------------------

    def refresh(self) -> None:
        token = self.backend.call_sync(lambda api: api.change_token())
        if token != self._token:
            self._token = token
            if self.app.is_running:
                self.app.workspace_changed()

    def follow(self) -> None:
        """Start polling the workspace for changes (the refresh thread), without running the app."""
        super().start()

    def start(self) -> None:
        """Poll and run the app in a background thread: headless only (a terminal wants :meth:`run`)."""
        if not self.headless:
            raise RuntimeError("the tui monitor needs the terminal's main thread: call run(), not start()")
        if self._app_thread is not None or self.closed:
            return
        self.follow()
        self._app_thread = threading.Thread(target=self._run_app, name="xpm-tui-app", daemon=True)
        self._app_thread.start()

    def run(self) -> None:
        """Show the TUI in this thread until the user quits, Ctrl-C or :meth:`close`; then close."""
        if self.closed:
            return
        self.follow()
        try:
            self._run_app()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def _run_app(self) -> None:
        self.app.run(headless=self.headless)

    def _closed_hook(self) -> None:
        app = self.app
        app.stop_requested.set()  # an app still starting exits as soon as it has mounted
        if app.is_running and threading.current_thread() is not self._app_thread:
            try:
                app.call_from_thread(app.exit)
            except RuntimeError:
                pass  # the app ended meanwhile (or runs in this very thread: it is ending)
        if self._app_thread is not None:
            self._app_thread.join(10)
        self.backend.close()

    # ---- what is shown (tests, the contract) ------------------------------------------------

    def shown_jobs(self) -> dict[str, str]:
        """{shown job id prefix: shown state} of the jobs table on screen (empty if none is)."""
        from xpm_tui.screens.jobs import JobsScreen

        def read() -> dict[str, str]:
            screen = self.app.screen
            if not isinstance(screen, JobsScreen):
                return {}
            table = screen.table
            shown = {}
            for row in range(table.row_count):
                state, _task, job = table.get_row_at(row)[:3]
                shown[str(job)] = str(state)
            return shown

        if not self.app.is_running:
            return {}
        if threading.current_thread() is self._app_thread:
            return read()
        result: Any = self.app.call_from_thread(read)
        return dict(result)
