"""The run a command about one experiment acts on: ``EXPERIMENT_ID`` and ``--run RUN_ID`` (default: the latest)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from xpm_core.cli.input_errors import InputError, checked_name


def run_directory(workspace: Path, experiment_id: str, run_id: Optional[str]) -> Path:
    """``experiments/EXPERIMENT_ID/RUN_ID`` of ``workspace`` (the latest run without ``run_id``)."""
    from xpm_core.workspace import disk

    checked_name(experiment_id, "experiment id")
    experiment_dir = workspace / disk.EXPERIMENTS_DIR / experiment_id
    if not experiment_dir.is_dir():
        known = sorted(path.name for path in (workspace / disk.EXPERIMENTS_DIR).glob("*") if path.is_dir())
        raise InputError(f"no experiment {experiment_id!r} in {workspace} (experiments: {', '.join(known) or 'none'})")
    if run_id is None:
        latest = disk.latest_run_directory(workspace, experiment_id)
        if latest is None:
            raise click.ClickException(f"experiment {experiment_id} has no run in {workspace}")
        return latest
    checked_name(run_id, "run id")
    run_dir = experiment_dir / run_id
    if not disk.is_run_directory(run_dir):
        runs = sorted(path.name for path in disk.run_directories(workspace, experiment_id))
        raise InputError(f"experiment {experiment_id} has no run {run_id!r} (runs: {', '.join(runs) or 'none'})")
    return run_dir


def pass_group_defaults(ctx: click.Context) -> None:
    """Hand ``xpm experiments --workdir ... GROUP SUB`` the workspace down to ``SUB`` (as the
    ``experiments`` group does for its own sub-commands)."""
    defaults = ctx.default_map or {}
    group = ctx.command
    assert isinstance(group, click.Group)
    if defaults:
        ctx.default_map = {name: dict(defaults) for name in group.commands}
