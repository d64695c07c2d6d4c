"""Keeping the workspace index up to date from the driver, off the scheduler's hot path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xpm_core.plugin.job_state import JobState
    from xpm_core.runtime.job import Job
    from xpm_core.workspace.index import WorkspaceIndex

# Only the scheduler's "records" notifier thread calls record(): one open index per workspace,
# used from that thread only (SQLite connections belong to the thread that made them).
_indexes: dict[Path, WorkspaceIndex] = {}


def _index(workspace: Path) -> WorkspaceIndex:
    index = _indexes.get(workspace)
    if index is None:
        from xpm_core.workspace.index import WorkspaceIndex

        index = _indexes[workspace] = WorkspaceIndex(workspace)
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
