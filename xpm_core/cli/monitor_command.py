"""``xpm experiments monitor``: follow a workspace's experiments in the web UI or the console view."""

from __future__ import annotations

from pathlib import Path

import click

from xpm_core.cli.workspace_options import workspace_options


@click.command("monitor")
@workspace_options
@click.option(
    "--console",
    is_flag=True,
    help="Use the terminal: the interactive TUI (plugin xpm-tui) when installed, else the console view "
    "(the default when xpm-web is not installed).",
)
@click.option("--port", type=click.IntRange(1, 65535), help="Port of the web monitor (needs xpm-web).")
@click.option("--host", help="Address the web monitor listens on.")
@click.option("--sync", is_flag=True, help="Rebuild the workspace index from the files first.")
@click.option(
    "--watcher",
    type=click.Choice(["auto", "inotify", "polling", "fsevents", "kqueue", "windows"], case_sensitive=False),
    help="How job ends no driver reports are noticed: inotify (local file systems), polling, or auto "
    "(the default; polling on network file systems). fsevents/kqueue/windows are polling here.",
)
@click.option("--polling-interval", type=click.FloatRange(min=0.05), help="Seconds between two polls (implies polling).")
@click.argument("experiment", required=False)
def monitor_command(
    workspace: Path, console: bool, port: int | None, host: str | None, sync: bool, experiment: str | None,
    watcher: str | None = None, polling_interval: float | None = None,
) -> None:
    """Follow the jobs of EXPERIMENT (default: list every experiment) until Ctrl-C.

    Opens the web monitor (plugin xpm-web) by default, the console view with --console.
    """
    from xpm_core.plugin.monitor import console_monitor_name, create_monitor, monitor_available
    from xpm_core.workspace.index import WorkspaceIndex

    _choose_watcher(watcher, polling_interval)
    if console and (port is not None or host is not None):
        raise click.UsageError("--port/--host set up the web monitor: they do not go with --console")
    with WorkspaceIndex(workspace) as index:
        if sync:
            index.rebuild()
        known = [record.experiment_id for record in index.experiments()]
    if experiment is not None and experiment not in known:
        raise click.UsageError(
            f"no experiment {experiment!r} in {workspace} (experiments: {', '.join(known) or 'none'})"
        )
    if not console and not monitor_available("web"):
        if port is not None or host is not None:
            raise click.UsageError("--port needs the web monitor, which is not installed: pip install xpm-web")
        click.echo("xpm: the web monitor is not installed (pip install xpm-web): using the console view", err=True)
        console = True
    if console:
        monitor = create_monitor(console_monitor_name(), workspace, experiment_id=experiment)
    else:
        options = {key: value for key, value in (("port", port), ("host", host)) if value is not None}
        monitor = create_monitor("web", workspace, experiment_id=experiment, **options)
    monitor.run()


def _choose_watcher(watcher: str | None, polling_interval: float | None) -> None:
    """``--watcher`` / ``--polling-interval`` for the monitor's marker watcher (xpm_core.workspace.watcher)."""
    import os

    from xpm_core.workspace.watcher import INTERVAL_ENV, WATCHER_ENV

    if polling_interval is not None:
        os.environ[INTERVAL_ENV] = str(polling_interval)
        watcher = "polling" if watcher in (None, "auto") else watcher
    if watcher is not None:
        watcher = watcher.lower()
        os.environ[WATCHER_ENV] = watcher if watcher in ("auto", "inotify", "polling") else "polling"
