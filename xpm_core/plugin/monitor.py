"""The ``Monitor`` interface: a live view of a workspace's experiments, refreshed in the background.

A monitor plugin declares a :class:`~xpm_core.plugin.components.MonitorType` whose factory is called as
``factory(workspace, experiment_id=..., run_id=..., **options)`` and returns a :class:`Monitor`.
``workspace`` is a directory or an object with the methods of
:class:`~xpm_core.plugin.workspace.WorkspaceAPI` (a remote workspace seen through
``xpm experiments ssh-monitor``); a monitor reads everything through :attr:`Monitor.api`, so the
same monitor follows a local or a remote workspace, an experiment run by this process, by
another one, or by nobody any more.
"""

from __future__ import annotations

import abc
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from xpm_core.plugin.workspace import WorkspaceAPI

logger = logging.getLogger("xpm.monitor")

#: Seconds ``close()`` waits for a refresh in progress.
CLOSE_TIMEOUT = 10.0
#: Monitors of the plugin distributions users are told to install when they ask for them.
MONITOR_DISTRIBUTIONS = {"web": "xpm-web", "tui": "xpm-tui"}


class MonitorNotInstalledError(LookupError):
    """A monitor was asked for by name and no installed plugin provides it."""


class Monitor(abc.ABC):
    """A view refreshed every ``interval`` seconds by a background thread.

    Subclasses implement :meth:`refresh` (read the workspace, update what they show) and may
    extend :meth:`start` / :meth:`close` to open and release their own resources (a server, a
    screen). An exception raised by :meth:`refresh` is logged and the next refresh happens as
    planned: a monitor never dies of its own bugs, nor disturbs the experiment it shows.
    """

    #: Seconds between two refreshes, unless the factory is given ``interval=``.
    interval: float = 1.0
    #: Whether the monitor needs the terminal and the main thread (an interactive TUI): then
    #: :meth:`run` is the view, and ``xpm run-experiment`` runs the plan in another thread.
    foreground: ClassVar[bool] = False

    def __init__(
        self,
        workspace: str | Path | WorkspaceAPI,
        *,
        experiment_id: str | None = None,
        run_id: str | None = None,
        interval: float | None = None,
    ) -> None:
        """
        :param workspace: the workspace directory, or a :class:`WorkspaceAPI` (or an object with
            its methods, such as a remote workspace's proxy) to read it through.
        :param experiment_id: the experiment to show (``None``: every experiment of the workspace).
        :param run_id: the run of that experiment to show (``None``: its latest run).
        :param interval: seconds between two refreshes.
        """
        if isinstance(workspace, (str, os.PathLike)):
            self.workspace = Path(workspace).expanduser().absolute()
            self._api: WorkspaceAPI | None = None
        else:
            self._api = workspace
            self.workspace = Path(str(workspace.path))
        self.experiment_id = experiment_id
        self.run_id = run_id
        if interval is not None:
            self.interval = interval
        #: Number of refreshes that raised (each one was logged).
        self.errors = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def api(self) -> WorkspaceAPI:
        """What the monitor reads and acts through, opened on first use (in the refresh thread:
        a local API's SQLite connection belongs to the thread that opened it)."""
        if self._api is None:
            from xpm_core.plugin.workspace import WorkspaceAPI

            self._api = WorkspaceAPI(self.workspace)
        return self._api

    @abc.abstractmethod
    def refresh(self) -> None:
        """Read the workspace now and update what the monitor shows."""

    # ---- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start refreshing in a background (daemon) thread; returns at once."""
        if self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(target=self._loop, name=f"xpm-monitor-{type(self).__name__}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Refresh as soon as possible rather than at the next interval."""
        self._wake.set()

    def close(self) -> None:
        """Stop refreshing and release resources; calling it again does nothing."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            # A refresh that hangs must not hold the driver: the thread is a daemon.
            self._thread.join(CLOSE_TIMEOUT)
            if self._thread.is_alive():
                logger.warning("%s: a refresh still runs after %.0f s; leaving it", type(self).__name__, CLOSE_TIMEOUT)
        self._closed_hook()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self) -> None:
        """Show the workspace until Ctrl-C (or :meth:`close` from another thread), then close."""
        try:
            # Started inside the try: a Ctrl-C right after the first frame is drawn (the refresh
            # thread draws it while start() returns) still ends the monitor cleanly.
            self.start()
            while not self._stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def __enter__(self) -> Monitor:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ---- for subclasses ------------------------------------------------------------------

    def _closed_hook(self) -> None:
        """Called once by :meth:`close`, after the refresh thread ended (release resources here)."""

    def _guarded_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as error:  # a monitor survives its own bugs: log, then try again later
            self.errors += 1
            # Logged in full the first time only: a broken view must not flood the terminal.
            if self.errors == 1:
                logger.exception("%s: refresh failed; trying again every %.1f s", type(self).__name__, self.interval)
            else:
                logger.debug("%s: refresh failed again: %s", type(self).__name__, error)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._guarded_refresh()
            self._wake.wait(self.interval)
            self._wake.clear()


def create_monitor(name: str, workspace: str | Path, **options: Any) -> Monitor:
    """Build the installed monitor called ``name``; a clear error (with what to install) if none is."""
    from xpm_core.plugin.registry import get_registry

    monitors = get_registry().monitors()
    if name not in monitors:
        distribution = MONITOR_DISTRIBUTIONS.get(name)
        hint = f"pip install {distribution}" if distribution else "install a plugin that provides it"
        installed = ", ".join(sorted(monitors)) or "none"
        raise MonitorNotInstalledError(
            f"the {name} monitor is not installed (installed monitors: {installed}): {hint}"
        )
    return monitors[name].create(workspace, **options)


def monitor_available(name: str) -> bool:
    """Whether an installed plugin provides the monitor called ``name``."""
    from xpm_core.plugin.registry import get_registry

    return name in get_registry().monitors()


def monitor_is_foreground(name: str) -> bool:
    """Whether the installed monitor called ``name`` needs the main thread (see :attr:`Monitor.foreground`)."""
    from xpm_core.plugin.registry import get_registry

    return bool(getattr(get_registry().monitors()[name].load(), "foreground", False))


def console_monitor_name() -> str:
    """The view ``--console`` opens: the interactive ``tui`` when installed and on a terminal, else ``console``."""
    import sys

    interactive = all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))
    return "tui" if interactive and monitor_available("tui") else "console"
