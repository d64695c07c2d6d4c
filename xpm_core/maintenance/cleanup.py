"""What ``xpm cleanup`` finds and fixes: stale pid files, stale token holders, stray jobs, orphan partials.

Safe fixes need no confirmation: a pid file whose process is gone (checkable only for a process
of this host) gets the job's end recorded (``reconcile``) and is removed; a token holder left by
a driver and a job both gone is removed. Stray jobs (running, but no experiment's latest run
lists them) are killed, and orphan partial folders (no job folder links to them) deleted, only
once confirmed. Experiments whose driver runs are left alone.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import attrs

from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.runtime.tokens import StaleHolder
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobRecord

PARTIALS_DIR = "partials"
_IDENTIFIER = re.compile(r"^[0-9a-f]{64}$")


@attrs.frozen(kw_only=True)
class StalePidFile:
    """A ``NAME.pid`` whose process, on this host, has ended."""

    task_id: str
    job_id: str
    folder: Path
    pid: Any

    @property
    def key(self) -> str:
        return f"{self.task_id}/{self.job_id}"


@attrs.frozen(kw_only=True)
class CleanupPlan:
    """Everything ``xpm cleanup`` would fix in a workspace."""

    running_experiments: list[str]
    stale_pid_files: list[StalePidFile]
    stale_tokens: list[StaleHolder]
    stray_jobs: list[JobRecord]
    orphan_partials: list[Path]

    @property
    def empty(self) -> bool:
        return not (self.stale_pid_files or self.stale_tokens or self.stray_jobs or self.orphan_partials)


def experiment_running(experiment_dir: Path) -> bool:
    """Whether a driver holds the experiment's lock (a free ``flock`` means no live driver)."""
    from xpm_core.local_host import file_lock

    lock = experiment_dir / "lock"
    if not lock.exists():
        return False
    try:
        with file_lock(lock, timeout=0):
            return False
    except (TimeoutError, OSError):
        return True


def running_experiments(workspace: Path) -> list[str]:
    root = workspace / disk.EXPERIMENTS_DIR
    try:
        names = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    except OSError:
        return []
    return [name for name in names if experiment_running(root / name)]


def stale_pid_files(workspace: Path) -> list[StalePidFile]:
    """Pid files of job folders whose process is known (on this host) to have ended."""
    from xpm_core.workspace.reconcile import local_process_alive

    found = []
    for task_id, job_id, folder in disk.job_directories(workspace):
        pid_file = folder / f"{disk.task_name(task_id)}.pid"
        try:
            spec = json.loads(pid_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            continue  # half-written: its writer may be starting the job now
        if isinstance(spec, dict) and local_process_alive(spec) is False:
            found.append(StalePidFile(task_id=task_id, job_id=job_id, folder=folder, pid=spec.get("pid")))
    return found


def fix_stale_pid_file(stale: StalePidFile, index: Optional[WorkspaceIndex]) -> Optional[disk.FinalMarker]:
    """Record the job's end (``NAME.failed`` unless it has a marker) and remove its pid file.

    Returns the job's marker; None when nothing was done (the job's lock is held: it runs after all).
    """
    from xpm_core.workspace.reconcile import conclude_if_gone, record_marker

    marker = disk.read_final_marker(stale.folder, stale.task_id)
    if marker is None:
        marker = conclude_if_gone(stale.folder, stale.task_id)
        if marker is None:
            return None
        if index is not None:
            record_marker(index, stale.job_id, marker)
    (stale.folder / f"{disk.task_name(stale.task_id)}.pid").unlink(missing_ok=True)
    return marker


def referenced_by_latest_runs(workspace: Path, running: list[str]) -> set[str]:
    """Ids of the jobs the latest run of every experiment lists (every run, for running experiments:
    a live driver may still be following jobs of a run it re-attached)."""
    referenced: set[str] = set()
    for experiment in sorted({run.parent.name for run in disk.run_directories(workspace)}):
        if experiment in running:
            for run_dir in disk.run_directories(workspace, experiment):
                referenced.update(entry.job_id for entry in disk.read_run_jobs(run_dir))
            continue
        latest = disk.latest_run_directory(workspace, experiment)
        if latest is not None:
            referenced.update(entry.job_id for entry in disk.read_run_jobs(latest))
    return referenced


def stray_jobs(workspace: Path, index: WorkspaceIndex, running: list[str]) -> list[JobRecord]:
    """Jobs running (or scheduled) that no experiment's latest run lists: nobody follows them."""
    from xpm_core.plugin.job_state import JobState

    active = index.jobs(states=[JobState.RUNNING, JobState.SCHEDULED])
    referenced = referenced_by_latest_runs(workspace, running)
    return [record for record in active if record.job_id not in referenced]


def linked_partials(workspace: Path) -> set[Path]:
    """Partial folders some job folder links to."""
    from xpm_core.config.partial_lock import partial_directories

    linked: set[Path] = set()
    for _, _, folder in disk.job_directories(workspace):
        linked.update(partial_directories(folder))
    return linked


def orphan_partials(workspace: Path) -> list[Path]:
    """Partial folders (``partials/<type>/<name>/<identifier>``) that no job folder links to."""
    root = workspace / PARTIALS_DIR
    if not root.is_dir():
        return []
    linked = linked_partials(workspace)
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink() and _IDENTIFIER.match(path.name):
            if path.resolve() not in linked and not any(parent in found for parent in path.parents):
                found.append(path)
    return found


def delete_partial(path: Path, workspace: Path) -> bool:
    """Delete an orphan partial folder unless a job holds its lock; whether it was deleted."""
    from xpm_core.config.partial_lock import lock_path
    from xpm_core.local_host import file_lock

    lock = lock_path(path)
    try:
        with file_lock(lock, timeout=0):
            shutil.rmtree(path)
    except TimeoutError:
        return False  # a job writes it right now
    lock.unlink(missing_ok=True)
    root = workspace / PARTIALS_DIR
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            break
        with contextlib.suppress(OSError):
            parent.rmdir()  # only when empty
    return True


def plan_cleanup(workspace: Path, index: WorkspaceIndex) -> CleanupPlan:
    """What needs cleaning in ``workspace`` (the index is reconciled first: dead jobs recorded)."""
    from xpm_core.runtime.tokens import stale_holders
    from xpm_core.workspace.reconcile import reconcile

    with contextlib.suppress(Exception):
        reconcile(workspace, index)
    running = running_experiments(workspace)
    return CleanupPlan(
        running_experiments=running,
        stale_pid_files=stale_pid_files(workspace),
        stale_tokens=stale_holders(workspace / ".xpm" / "tokens"),
        stray_jobs=stray_jobs(workspace, index, running),
        orphan_partials=orphan_partials(workspace),
    )
