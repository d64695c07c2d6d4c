"""Keeping the workspace index up to date from the driver, off the scheduler's hot path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def record(workspace: Path, method: str, *args: Any, **kwargs: Any) -> None:
    """Call ``method`` of the workspace index (run by the scheduler's ``records`` notifier)."""
    getattr(_index(workspace), method)(*args, **kwargs)
