"""Keeping the workspace index up to date from the driver, off the scheduler's hot path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xpm_core.plugin.job_state import JobState
    from xpm_core.runtime.job import Job
    from xpm_core.workspace.index import WorkspaceIndex

# Only the scheduler's "records" notifier thread calls record(): one open index per workspace,
# used from that thread only (SQLite connections belong to the thread that made them).
_indexes: dict[Path, WorkspaceIndex] = {}


_inodes: dict[Path, int | None] = {}


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _index(workspace: Path) -> WorkspaceIndex:
    index = _indexes.get(workspace)
    if index is not None and _inode(index.path) != _inodes.get(workspace):
        # Deleted or replaced (`rm index.db`, a rebuild elsewhere) while this driver ran: writing
        # to the old file would be lost. Open the new one (rebuilt from the files if missing).
        index.close()
        index = None
    if index is None:
        from xpm_core.workspace.index import WorkspaceIndex

        index = _indexes[workspace] = WorkspaceIndex(workspace)
        _inodes[workspace] = _inode(index.path)
    return index


def submission(job: Job) -> Any:
    """The index's record of ``job`` being added to a run."""
    from xpm_core.workspace.records import JobSubmission

    return JobSubmission(
        job_id=job.identifier,
        task_id=job.task_id,
        path=str(job.path),
        tags=job.tags,
        depends_on=sorted(dep.identifier for dep in job.dependencies),
        submitted_time=job.submitted_time,
    )


# One function per kind of write, posted with its arguments to the scheduler's "records"
# notifier: the calls can be found and checked, and the index (sqlite-utils) is imported by
# that thread, not by the driver's.


def run_started(workspace: Path, experiment_id: str, run_id: str, hostname: str, started_at: float) -> None:
    """Record that a run started."""
    _index(workspace).record_run_started(experiment_id, run_id, hostname, started_at)


def run_finished(workspace: Path, experiment_id: str, run_id: str, status: str, ended_at: float) -> None:
    """Record that a run ended with ``status``."""
    _index(workspace).record_run_finished(experiment_id, run_id, status, ended_at)


def job_submitted(workspace: Path, experiment_id: str, run_id: str, job: Any) -> None:
    """Record that ``job`` (a :func:`submission`) was added to a run."""
    _index(workspace).record_job_submitted(experiment_id, run_id, job)


def job_state(workspace: Path, job_id: str, state: JobState, **details: Any) -> None:
    """Record a job's new state (``details``: failure reason, times, exit code, retries)."""
    _index(workspace).record_job_state(job_id, state, **details)


def run_detached(workspace: Path, experiment_id: str, run_id: str, ended_at: float) -> None:
    """Record that a run ended without its driver (killed): "detached", its queued jobs unscheduled."""
    from xpm_core.workspace.reconcile import unschedule_queued

    index = _index(workspace)
    index.record_run_finished(experiment_id, run_id, "detached", ended_at)
    unschedule_queued(workspace, index, experiment_id, run_id)


def runs_pruned(workspace: Path, experiment_id: str, run_ids: list[str]) -> None:
    """Record that old runs of an experiment were removed (history pruning)."""
    index = _index(workspace)
    for run_id in run_ids:
        index.forget_run(experiment_id, run_id)
