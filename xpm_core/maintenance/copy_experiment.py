"""Copying one run of an experiment, with the job folders it lists, from a workspace to another.

Each job folder is first copied into ``DEST/.xpm-staging/`` and then renamed into place, so an
interrupted copy never leaves a half-copied job where a driver would take it for a real one.
The run folder goes last: once it is there, the copy is complete. Jobs already present at the
destination are kept as they are; running jobs are not copied (their folder is still changing).
A workspace on another host (``ssh://host/path``) is copied from or to through connectors:
:mod:`xpm_core.maintenance.copy_over_connectors`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path
from typing import Callable, Optional, Union

from xpm_core.maintenance.copy_plan import (  # noqa: F401 - CopyError, JobAction: the CLI's names
    IGNORED_PATTERNS,
    REWRITTEN_FILES,
    STAGING_DIR,
    CopyError,
    CopyPlan,
    JobAction,
    JobCopy,
    moved,
    owner_suffix,
    rewritten_json,
    update_index,
)
from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk


def plan_copy(
    source: Union[Path, str], destination: Union[Path, str], experiment_id: str, run_id: Optional[str] = None
) -> CopyPlan:
    """What copying run ``run_id`` (the latest when None) of ``experiment_id`` would do.

    ``source`` and ``destination`` are local paths or locations of other hosts (``ssh://...``).
    """
    from xpm_core.maintenance import copy_over_connectors as remote
    from xpm_core.workspace.state_provider import UnknownExperimentError, WorkspaceStateProvider

    if remote.is_remote_location(source) or remote.is_remote_location(destination):
        try:
            return remote.plan(remote.endpoint(source), remote.endpoint(destination), experiment_id, run_id)
        except (OSError, RuntimeError) as error:
            if isinstance(error, CopyError):
                raise
            raise CopyError(f"cannot read the workspaces to copy: {error}") from None
    source, destination = Path(source), Path(destination)
    source, destination = source.absolute(), destination.absolute()
    if os.path.realpath(source) == os.path.realpath(destination):
        raise CopyError(f"the source and destination workspaces are the same folder ({source})")
    try:
        source_run = WorkspaceStateProvider(source).run_directory(experiment_id, run_id)
    except UnknownExperimentError as error:
        raise CopyError(str(error)) from None
    run = disk.read_run(source_run)
    destination_run = destination / disk.EXPERIMENTS_DIR / experiment_id / source_run.name
    jobs = []
    for entry in run.jobs:
        job_source = disk.job_directory(source, entry.task_id, entry.job_id)
        job_destination = disk.job_directory(destination, entry.task_id, entry.job_id)
        state = disk.read_job(job_source, entry.task_id, entry.job_id).state
        if job_destination.exists():
            action = JobAction.EXISTS
        elif not job_source.is_dir():
            action = JobAction.MISSING
        elif not state.finished and state is not JobState.UNSCHEDULED:
            action = JobAction.RUNNING
        else:
            action = JobAction.COPY
        jobs.append(JobCopy(task_id=entry.task_id, job_id=entry.job_id, state=state,
                            source=job_source, destination=job_destination, action=action))
    return CopyPlan(
        experiment_id=experiment_id,
        run_id=source_run.name,
        source_workspace=source,
        destination_workspace=destination,
        source_run=source_run,
        destination_run=destination_run,
        run_exists=destination_run.exists(),
        run_status=run.status,
        jobs=jobs,
    )


def perform_copy(plan: CopyPlan, progress: Callable[[str], None] = lambda message: None) -> None:
    """Carry out ``plan``; ``progress`` is told about each folder copied."""
    if plan.source is not None:
        from xpm_core.maintenance import copy_over_connectors

        try:
            copy_over_connectors.perform(plan, progress)
        except (OSError, RuntimeError) as error:  # the host went away, refused a write...
            if isinstance(error, CopyError):
                raise
            raise CopyError(f"the copy to {plan.destination_label} stopped: {error}") from None
        return
    destination = plan.destination_workspace
    staging = destination / STAGING_DIR
    try:
        staging.mkdir(parents=True, exist_ok=True)
        (destination / disk.JOBS_DIR).mkdir(exist_ok=True)
        # experimaestro's marker of a workspace, so that it recognizes the destination too
        (destination / ".__experimaestro__").touch()
    except OSError as error:
        raise CopyError(f"cannot write to the destination workspace {destination}: {error}") from None

    for job in plan.jobs_to_copy():
        progress(f"copying {job.key}")
        _install(job.source, job.destination, staging, plan)
    if not plan.run_exists:
        progress(f"copying run {plan.experiment_id}/{plan.run_id}")
        _install(plan.source_run, plan.destination_run, staging, plan)
        _update_current_link(plan.destination_run)
    with contextlib.suppress(OSError):
        staging.rmdir()  # only when empty: another copy may be using it
    update_index(plan)


def _remove_leftovers(staging: Path, name: str) -> None:
    """Remove the staging copies of ``name`` that interrupted copies (dead processes of this host) left."""
    host = socket.gethostname()
    for leftover in staging.glob(f"{name}.*"):
        owner_host, _, pid = leftover.name[len(name) + 1:].rpartition("-")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _install(source: Path, target: Path, staging: Path, plan: CopyPlan) -> None:
    """Copy ``source`` to ``target`` through the staging folder (a rename, atomic, at the end)."""
    temporary = staging / f"{target.name}.{owner_suffix()}"
    try:
        _remove_leftovers(staging, target.name)
        shutil.copytree(source, temporary, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED_PATTERNS))
        _relocate(temporary, plan.source_workspace, plan.destination_workspace)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(temporary)  # another copy (or a driver) got there first: keep theirs
            return
        os.rename(temporary, target)
    except (OSError, shutil.Error, UnicodeDecodeError) as error:
        with contextlib.suppress(OSError):
            shutil.rmtree(temporary)
        raise CopyError(f"cannot copy {source} to {target}: {error}") from None


def _relocate(folder: Path, source: Path, destination: Path) -> None:
    """Make a copied folder point into the destination: JSON paths and the run's job links."""
    for name in REWRITTEN_FILES:
        path = folder / name
        if path.is_file():
            _rewrite_json_file(path, str(source), str(destination))
    jobs = folder / disk.JOBS_DIR
    if jobs.is_dir():
        # A run folder links each of its jobs (absolute symbolic links into the workspace).
        for link in jobs.glob("*/*"):
            if link.is_symlink():
                target = os.readlink(link)
                relocated = moved(target, str(source), str(destination))
                if relocated != target:
                    link.unlink()
                    link.symlink_to(relocated)






def _rewrite_json_file(path: Path, source: str, destination: str) -> None:
    """Replace absolute source-workspace paths in a JSON (or JSON lines) file, keeping its layout."""
    text = path.read_text(encoding="utf-8")
    rewritten = rewritten_json(text, path.name, source, destination)
    if rewritten != text:
        path.write_text(rewritten, encoding="utf-8")




def _update_current_link(run_dir: Path) -> None:
    """Point ``experiments/<id>/current`` at the copied run when it is the experiment's latest."""
    latest = disk.latest_run_directory(run_dir.parent.parent.parent, run_dir.parent.name)
    if latest is None or latest.name != run_dir.name:
        return
    link = run_dir.parent / "current"
    with contextlib.suppress(OSError):
        link.unlink()
    link.symlink_to(run_dir.name)
