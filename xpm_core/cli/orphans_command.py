"""``xpm orphans PATH``: list (and with ``--clean`` delete) job folders that no experiment run refers to."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xpm_core.cli.workspace_options import existing_workspace

if TYPE_CHECKING:
    from xpm_core.maintenance.orphans import JobFolder


def _describe(folder: JobFolder, size: int | None) -> str:
    from xpm_core.maintenance.disk_usage import format_size

    size_text = f"{format_size(size):>10}  " if size is not None else ""
    return f"{size_text}{folder.key}  ({folder.state.value})"


@click.command("orphans")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--size", is_flag=True, help="Show the disk usage of each folder, and the total.")
@click.option("--clean", is_flag=True, help="Delete the orphan folders (asks first; running jobs are kept).")
@click.option("--show-all", is_flag=True, help="List every job folder, marking the orphans with '*'.")
@click.option("-y", "--yes", is_flag=True, help="With --clean: delete without asking (needed without a terminal).")
def orphans_command(path: Path, size: bool, clean: bool, show_all: bool, yes: bool) -> None:
    """List the job folders of the workspace PATH that no experiment run refers to.

    Such folders stay behind when an experiment or one of its runs is deleted, or when a plan
    stops submitting a task. They take disk space and nothing points at them any more.

    With --clean, finished orphans are deleted after confirmation; an orphan job that may still
    be running (a pid file and no .done/.failed marker) is never deleted.
    """
    from xpm_core.maintenance.disk_usage import directory_size, format_size
    from xpm_core.maintenance.orphans import delete_job_folder, job_folders

    workspace = existing_workspace(path.absolute())
    if yes and not clean:
        raise click.UsageError("--yes confirms --clean: give --clean too")
    folders = job_folders(workspace)
    orphans = [folder for folder in folders if folder.orphan]
    shown = folders if show_all else orphans
    sizes = {folder.job_id: directory_size(folder.path) for folder in shown} if size else {}

    for folder in shown:
        mark = ("* " if folder.orphan else "  ") if show_all else ""
        click.echo(mark + _describe(folder, sizes.get(folder.job_id)))
    total = f", {format_size(sum(sizes[f.job_id] for f in orphans))}" if size else ""
    if not orphans:
        click.echo(f"No orphan job in {workspace} ({len(folders)} job folders, all referenced by a run).")
        return
    click.echo(f"{len(orphans)} orphan job(s) of {len(folders)} job folders{total}.")
    if not clean:
        return

    running = [folder for folder in orphans if folder.may_be_running]
    deletable = [folder for folder in orphans if not folder.may_be_running]
    for folder in running:
        click.echo(f"Keeping {folder.key}: it may still be running ({folder.state.value}).", err=True)
    if not deletable:
        click.echo("Nothing to delete.")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(
                f"--clean would delete {len(deletable)} folder(s) but there is no terminal to confirm: "
                "add --yes to delete without asking"
            )
        click.confirm(f"Delete {len(deletable)} orphan job folder(s)?", abort=True)
    deleted, failures = [], []
    for folder in deletable:
        try:
            delete_job_folder(folder)
            deleted.append(folder.job_id)
        except OSError as error:
            failures.append(f"{folder.path}: {error}")
    from xpm_core.workspace.index import WorkspaceIndex

    with WorkspaceIndex(workspace) as index:
        index.forget_jobs(deleted)
    click.echo(f"Deleted {len(deleted)} orphan job folder(s).")
    if failures:
        raise click.ClickException(f"could not delete {len(failures)} folder(s): " + "; ".join(failures))
