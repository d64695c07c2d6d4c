"""The web monitor a run opens itself (``experiment(port=...)``, ``xpm run-experiment --web``), and
keeping it up after the run until Ctrl-C."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from xpm_core.plugin.monitor import Monitor


def server_settings() -> Any:
    """settings.yaml's ``server:`` (port, host, token of the web monitor); the defaults without a file."""
    from xpm_core.settings.settings_file import ServerSettings, load_settings, settings_path

    if not settings_path().exists():  # parsing YAML costs: only when there is a file
        return ServerSettings()
    return load_settings().server


def web_options(port: int | None, host: str | None, token: str | None) -> dict[str, Any]:
    """The web monitor's options: the given ones, else settings.yaml's ``server:`` (the token only
    when ``XPM_WEB_TOKEN`` is unset, which the monitor reads itself)."""
    server = server_settings()
    if token is None and not os.environ.get("XPM_WEB_TOKEN"):
        token = server.token
    options = {
        "port": port if port is not None else server.port,
        "host": host if host is not None else server.host,
    }
    if token is not None:  # only then: a monitor of another plugin may take no token
        options["token"] = token
    return options


def start_web_monitor(
    workspace: Path, experiment_id: str, run_id: str, *, port: int | None, host: str | None, token: str | None,
    what: str, stream: TextIO | None = None,
) -> Monitor | None:
    """Start the ``web`` monitor on this run; None, after a warning saying what to install, without xpm-web.

    ``what`` names what asked for it in the warning (``experiment(port=...)``).
    """
    from xpm_core.plugin.monitor import create_monitor, monitor_available

    stream = stream if stream is not None else sys.stderr
    if not monitor_available("web"):
        print(f"xpm: warning: {what} starts the web monitor, which is not installed: pip install xpm-web",
              file=stream)
        return None
    monitor = create_monitor("web", workspace, experiment_id=experiment_id, run_id=run_id,
                             **web_options(port, host, token))
    monitor.start()
    return monitor


def keep_up_until_interrupted(monitor: Monitor, stream: TextIO | None = None) -> None:
    """Leave ``monitor`` up after the run, until Ctrl-C (or SIGTERM), so that its pages can still be read."""
    stream = stream if stream is not None else sys.stderr
    url = getattr(monitor, "url", None)
    where = f" at {url}" if url else ""
    print(f"xpm: the run ended; the web monitor stays up{where}: press Ctrl-C to quit", file=stream, flush=True)
    forever = threading.Event()
    try:
        while not monitor.closed and not forever.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
