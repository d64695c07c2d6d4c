"""``xpm experiments log EXP [RUN]``: what the driver of a run logged (kept in the workspace)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Optional

import click

from xpm_core.cli.workspace_options import workspace_options


@click.command("log")
@click.argument("experiment_id")
@click.argument("run_id", required=False)
@click.option("--path", "only_path", is_flag=True, help="Print the log file's path instead of its content.")
@workspace_options
def driver_log_command(workspace: Path, experiment_id: str, run_id: Optional[str], only_path: bool) -> None:
    """Show the driver's log of run RUN_ID of EXPERIMENT_ID (default: the latest run; also 'oldest').

    Each driver writes its INFO messages to WS/.scheduler/logs/EXPERIMENT_ID/RUN_ID.log; logs
    are deleted after 'driver_log_days' days (settings.yaml, default 15).
    """
    from xpm_core.cli.input_errors import InputError, checked_name
    from xpm_core.runtime.driver_log import latest_log, log_path, logs_dir

    checked_name(experiment_id, "experiment id")
    if run_id is None or run_id in ("latest", "oldest"):
        logs = sorted(logs_dir(workspace).joinpath(experiment_id).glob("*.log"), key=lambda p: p.stat().st_mtime)
        path = (logs[0] if logs else None) if run_id == "oldest" else latest_log(workspace, experiment_id)
        if path is None:
            raise InputError(f"no driver log of experiment {experiment_id!r} in {logs_dir(workspace)} "
                             "(never run here, or its logs are older than the retention)")
    else:
        checked_name(run_id, "run id")
        path = log_path(workspace, experiment_id, run_id)
        if not path.exists():
            known = sorted(p.stem for p in path.parent.glob("*.log"))
            raise InputError(f"no driver log for run {run_id!r} of {experiment_id!r} "
                             f"(runs with a log: {', '.join(known) or 'none'})")
    if only_path:
        click.echo(str(path))
        return
    with open(path, "rb") as source:
        shutil.copyfileobj(source, sys.stdout.buffer)
