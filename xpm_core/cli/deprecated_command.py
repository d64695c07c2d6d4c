"""``xpm deprecated list|diff``: find and fix job folders whose identifier changed through ``@deprecate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xpm_core.cli.workspace_options import existing_workspace


@click.group("deprecated")
def deprecated_group() -> None:
    """Manage identifier changes caused by deprecated configurations (@deprecate)."""


@deprecated_group.command("list")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--fix", is_flag=True, help="Link each job folder under its new identifier.")
@click.option("--cleanup", is_flag=True, help="With --fix: remove old links and move the folders instead of linking.")
def deprecated_list(path: Path, fix: bool, cleanup: bool) -> None:
    """List the jobs of workspace PATH whose identifier changed with today's code.

    Each line reads TASK/OLD -> TASK/NEW. Classes must be importable (run it in the plan's
    environment). With --fix, jobs/NEW-TASK/NEW becomes a link to the old folder, so plans using
    the new classes find the finished jobs.
    """
    from xpm_core.maintenance import deprecated_jobs

    workspace = existing_workspace(path.absolute())
    if cleanup and not fix:
        click.echo("xpm: warning: --cleanup ignored: it only applies with --fix", err=True)
    if fix and cleanup:
        for link in deprecated_jobs.remove_links(workspace):
            click.echo(f"removed link {link}")
    errors: list[str] = []
    changed = list(deprecated_jobs.changed_jobs(workspace, errors))
    for job in changed:
        click.echo(f"{job.task_id}/{job.old_identifier} -> {job.new_task_id}/{job.new_identifier}")
        if fix:
            click.echo("  " + deprecated_jobs.fix(job, move=cleanup))
    for error in errors:
        click.echo(f"xpm: warning: {error}", err=True)
    if not changed:
        click.echo(f"No job of {workspace} changed identifier.")


@deprecated_group.command("diff")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def deprecated_diff(path: Path) -> None:
    """Show where the identifier of the job folder PATH changed (configuration paths, new vs old)."""
    from xpm_core.maintenance.deprecated_jobs import identifier_differences

    if not (path / "params.json").is_file():
        raise click.UsageError(f"{path} is not a job folder (no params.json in it)")
    try:
        lines = identifier_differences(path)
    except Exception as error:  # noqa: BLE001 - one clear line, not a traceback
        click.echo(f"xpm: cannot load {path / 'params.json'}: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    if not lines:
        click.echo("The identifier did not change.")
    for line in lines:
        click.echo(line)
