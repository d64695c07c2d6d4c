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
import json
import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.maintenance.copy_over_connectors import Endpoint

STAGING_DIR = ".xpm-staging"
#: Never copied: lock files belong to processes of the source, a pid file would make the
#: destination believe the job runs there.
IGNORED_PATTERNS = ("*.lock", "*.pid")
#: Files of a run or a job folder that may hold absolute paths into the source workspace.
REWRITTEN_FILES = ("params.json", "objects.jsonl", "status.json")


class CopyError(RuntimeError):
    """The copy cannot be done (unknown experiment, same workspace, unwritable destination...)."""


class JobAction:
    """What a copy does with a job (the values shown by the dry run)."""

    COPY = "copy"
    EXISTS = "exists"  # already at the destination: kept as is
    RUNNING = "running"  # may still be running at the source: not copied
    MISSING = "missing"  # listed by the run but never started: no folder to copy


@attrs.frozen(kw_only=True)
class JobCopy:
    """One job of the run, and what the copy does with it."""

    task_id: str
    job_id: str
    state: JobState
    source: Path
    destination: Path
    action: str

    @property
    def key(self) -> str:
        return f"{self.task_id}/{self.job_id}"


@attrs.frozen(kw_only=True)
class CopyPlan:
    """Everything a copy will do; built without touching the destination."""

    experiment_id: str
    run_id: str
    source_workspace: Path
    destination_workspace: Path
    source_run: Path
    destination_run: Path
    run_exists: bool  # the run folder is already at the destination
    run_status: Optional[str]
    jobs: list[JobCopy]
    #: Set when a side is on another host: the copy goes through the connectors.
    source: Optional[Endpoint] = None
    destination: Optional[Endpoint] = None

    @property
    def source_label(self) -> str:
        return self.source.label if self.source is not None else str(self.source_workspace)

    @property
    def destination_label(self) -> str:
        return self.destination.label if self.destination is not None else str(self.destination_workspace)

    def jobs_to_copy(self) -> list[JobCopy]:
        return [job for job in self.jobs if job.action == JobAction.COPY]


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
    _update_index(plan)


def _owner_suffix() -> str:
    """Names this process's staging copies: concurrent copies (from other hosts too) never clash."""
    return f"{socket.gethostname()}-{os.getpid()}"


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
    temporary = staging / f"{target.name}.{_owner_suffix()}"
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
                moved = _moved(target, str(source), str(destination))
                if moved != target:
                    link.unlink()
                    link.symlink_to(moved)


def _moved(text: str, source: str, destination: str) -> str:
    if text == source or text.startswith(source + os.sep):
        return destination + text[len(source):]
    return text


def _rewrite(value: Any, source: str, destination: str) -> Any:
    if isinstance(value, str):
        return _moved(value, source, destination)
    if isinstance(value, list):
        return [_rewrite(item, source, destination) for item in value]
    if isinstance(value, dict):
        return {key: _rewrite(item, source, destination) for key, item in value.items()}
    return value


def _rewrite_json_file(path: Path, source: str, destination: str) -> None:
    """Replace absolute source-workspace paths in a JSON (or JSON lines) file, keeping its layout."""
    text = path.read_text(encoding="utf-8")
    rewritten = _rewritten_json(text, path.name, source, destination)
    if rewritten != text:
        path.write_text(rewritten, encoding="utf-8")


def _rewritten_json(text: str, name: str, source: str, destination: str) -> str:
    """The content of the JSON (or JSON lines, by ``name``) file ``text`` with source paths moved."""
    if source not in text:
        return text
    if name.endswith(".jsonl"):
        lines = []
        for line in text.splitlines():
            try:
                lines.append(json.dumps(_rewrite(json.loads(line), source, destination), separators=(",", ":")))
            except ValueError:
                lines.append(line)  # a malformed line stays as it was: readers skip it
        return "\n".join(lines) + "\n"
    try:
        data = json.loads(text)
    except ValueError:
        return text
    indent = 2 if text.lstrip().startswith("{\n") else None
    return json.dumps(_rewrite(data, source, destination), indent=indent)


def _update_current_link(run_dir: Path) -> None:
    """Point ``experiments/<id>/current`` at the copied run when it is the experiment's latest."""
    latest = disk.latest_run_directory(run_dir.parent.parent.parent, run_dir.parent.name)
    if latest is None or latest.name != run_dir.name:
        return
    link = run_dir.parent / "current"
    with contextlib.suppress(OSError):
        link.unlink()
    link.symlink_to(run_dir.name)


def _update_index(plan: CopyPlan) -> None:
    """Tell the destination's index about the copied run and jobs."""
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission

    destination = plan.destination_workspace
    run = disk.read_run(plan.destination_run)
    with WorkspaceIndex(destination) as index:
        if index.rebuilt_on_open:
            return  # built from the files, the copied ones included
        index.record_run_started(plan.experiment_id, plan.run_id, run.hostname, run.started_at)
        if run.status in ("done", "failed"):
            index.record_run_finished(plan.experiment_id, plan.run_id, run.status, run.ended_at)
        index.record_jobs_submitted(
            plan.experiment_id,
            plan.run_id,
            [
                JobSubmission(
                    job_id=entry.job_id,
                    task_id=entry.task_id,
                    path=disk.job_directory(destination, entry.task_id, entry.job_id),
                    tags=entry.tags,
                    depends_on=entry.depends_on,
                    submitted_time=entry.submitted_time,
                    transient=entry.transient,
                )
                for entry in run.jobs
            ],
        )
        for entry in run.jobs:
            job = disk.read_job(disk.job_directory(destination, entry.task_id, entry.job_id),
                                entry.task_id, entry.job_id)
            index.record_job_state(job.job_id, job.state, job.failure_reason, job.started_time,
                                   job.ended_time, job.exit_code, job.retry_count)

