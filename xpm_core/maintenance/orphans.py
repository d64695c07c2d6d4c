"""Orphan jobs: job folders of a workspace that no run of any experiment lists in its ``jobs.jsonl``."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk


@attrs.frozen(kw_only=True)
class JobFolder:
    """A ``jobs/<task-id>/<hash>/`` folder, with whether a run refers to it and its state on disk."""

    task_id: str
    job_id: str
    path: Path
    state: JobState
    orphan: bool

    @property
    def key(self) -> str:
        """``task-id/hash``, how the CLI names a job."""
        return f"{self.task_id}/{self.job_id}"

    @property
    def may_be_running(self) -> bool:
        """Whether a process may still work in the folder (so it must not be deleted).

        Without a launcher to ask, a ``NAME.pid`` without a final marker reads as running: deleting
        a live job's folder loses its results, keeping a stale one only costs space. A folder with
        neither marker nor pid file (never launched) is unscheduled and may go.
        """
        return not self.state.finished and self.state is not JobState.UNSCHEDULED


def referenced_job_ids(workspace: Path) -> set[str]:
    """Ids of the jobs that some run of some experiment lists."""
    referenced: set[str] = set()
    for run_dir in disk.run_directories(workspace):
        referenced.update(entry.job_id for entry in disk.read_run_jobs(run_dir))
    return referenced


def job_folders(workspace: Path) -> list[JobFolder]:
    """Every job folder of ``workspace``, sorted by task id then hash."""
    referenced = referenced_job_ids(workspace)
    folders = []
    for task_id, job_id, path in disk.job_directories(workspace):
        state = disk.read_job(path, task_id, job_id).state
        folders.append(JobFolder(task_id=task_id, job_id=job_id, path=path, state=state,
                                 orphan=job_id not in referenced))
    return sorted(folders, key=lambda folder: (folder.task_id, folder.job_id))


def delete_job_folder(folder: JobFolder) -> None:
    """Remove an orphan job's folder, and its task folder when it becomes empty."""
    if not folder.orphan or folder.may_be_running:
        raise ValueError(f"{folder.key} is referenced by a run or may be running: it is not deleted")
    shutil.rmtree(folder.path)
    try:
        folder.path.parent.rmdir()
    except OSError:
        pass  # other jobs of the same task remain
