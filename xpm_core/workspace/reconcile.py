"""After a fault, the files tell the truth: a dead job gets its ``NAME.failed``, a dead driver its end.

A job killed from outside (``kill -9``, the OOM killer, ``os._exit``) leaves a ``NAME.pid`` and no
marker; a driver killed with ``kill -9`` leaves its run "running" and its queued jobs "waiting".
Whoever first sees it (the driver, ``xpm jobs list/kill``, ``xpm experiments list/sync``, a
monitor through ``WorkspaceAPI``) records the end here, on disk first and then in the index, so
that every command agrees afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional

import attrs

from xpm_core.names import is_valid_name
from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.workspace.index import WorkspaceIndex

logger = logging.getLogger(__name__)

#: Says whether the process of a ``NAME.pid`` content is alive: True, False, None (cannot tell).
Probe = Callable[[Mapping[str, Any]], Optional[bool]]
#: Launchers whose ``NAME.pid`` names a process (``direct``; experimaestro writes ``local``).
LOCAL_PROCESS_TYPES = ("direct", "local")
#: Job states of a job a driver holds in its queue, never started.
NOT_STARTED = (JobState.UNSCHEDULED, JobState.WAITING, JobState.READY)


# ---- jobs ------------------------------------------------------------------------------------


def local_process_alive(spec: Mapping[str, Any]) -> Optional[bool]:
    """Whether the process of ``spec`` (a ``NAME.pid`` content) runs, when it is one of this machine.

    Only a process started through the local connector on this host can be checked from here;
    for any other (a Slurm job, a process on an SSH host) the answer is None: the launcher knows.
    """
    if spec.get("type", "direct") not in LOCAL_PROCESS_TYPES:
        return None  # "pid" is a batch job's id (Slurm, OAR), not a process of this machine
    connector = spec.get("connector") or {"name": "local"}
    if not isinstance(connector, Mapping) or connector.get("name") != "local":
        return None
    host = spec.get("host")
    if host and host != socket.gethostname():
        return None
    try:
        pid = int(spec["pid"])
    except (KeyError, TypeError, ValueError):
        return None
    from xpm_core.local_host import process_alive

    start = spec.get("start")
    return process_alive(pid, start if isinstance(start, str) else None)


def _lock_is_free(lock: Path) -> bool:
    """Whether nobody holds ``NAME.lock`` (a running job holds it; so does a driver starting it)."""
    from xpm_core.local_host import file_lock

    if not lock.exists():
        return True
    try:
        with file_lock(lock, timeout=0):
            return True
    except TimeoutError:
        return False
    except OSError:
        return False  # cannot tell: assume it is held


def _read_spec(pid_file: Path) -> Optional[dict[str, Any]]:
    try:
        content = json.loads(pid_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def failure_record(exit_code: Optional[int], failure: Optional[str] = None, pid: Any = None) -> dict[str, Any]:
    """The ``NAME.failed`` content of a job whose process ended without writing a marker."""
    process = f"process {pid}" if pid is not None else "the process"
    if failure is not None:
        return {"code": exit_code, "reason": failure,
                "message": f"{process} ended ({failure}) without a completion marker"}
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return {"code": exit_code, "reason": "killed", "signal": name,
                "message": f"{process} was killed by {name} without a completion marker"}
    if exit_code == 0:
        return {"code": 0, "reason": "missing_outputs",
                "message": f"{process} exited with code 0 without a completion marker"}
    if exit_code is not None:
        return {"code": exit_code, "reason": "failed",
                "message": f"{process} exited with code {exit_code} without a completion marker"}
    return {"code": None, "reason": "failed",
            "message": f"{process} is gone without a completion marker (killed from outside, or out of memory?)"}


def write_failure(job_dir: Path, task_id: str, record: Mapping[str, Any]) -> Optional[disk.FinalMarker]:
    """Write ``NAME.failed`` unless a marker exists; the marker the job then has (None: none written).

    Written atomically and only if absent (a hard link of a complete temporary file), so that
    two readers concluding at once, or a job that wrote its own marker, keep the first marker.
    """
    name = disk.task_name(task_id)
    target = job_dir / f"{name}.failed"
    existing = disk.read_final_marker(job_dir, task_id)
    if existing is not None:
        return existing
    temporary = job_dir / f".{name}.failed.{os.getpid()}.{time.monotonic_ns()}.tmp"
    try:
        temporary.write_text(json.dumps({**record, "ended_time": time.time()}), encoding="utf-8")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, target)
    except OSError as error:
        logger.warning("cannot record the end of the job in %s: %s", job_dir, error)
        return None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return disk.read_final_marker(job_dir, task_id)


def conclude_if_gone(job_dir: Path, task_id: str, probe: Probe = local_process_alive) -> Optional[disk.FinalMarker]:
    """If the job's ``NAME.pid`` process is gone without a marker, write ``NAME.failed``.

    Returns the marker written, or None when nothing was concluded (a marker already there,
    no pid file, the process alive, or its liveness unknown here).
    """
    name = disk.task_name(task_id)
    pid_file = job_dir / f"{name}.pid"
    if disk.read_final_marker(job_dir, task_id) is not None:
        return None
    spec = _read_spec(pid_file)
    if spec is None or probe(spec) is not False:
        return None
    # A local job holds NAME.lock while it runs: a second witness against a mistaken probe.
    if not _lock_is_free(job_dir / f"{name}.lock"):
        return None
    if disk.read_final_marker(job_dir, task_id) is not None:
        return None  # it wrote its marker just before exiting
    return write_failure(job_dir, task_id, failure_record(None, pid=spec.get("pid")))


# ---- drivers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _driver_gone(experiment_dir: Path) -> Iterator[Optional[bool]]:
    """Whether the experiment lock is free (its driver, if any, has ended); held meanwhile.
    None without a lock file (a run written by another tool: its driver cannot be checked).

    The lock is an ``flock``, released by the kernel when its holder dies: a free lock means
    no live driver. Holding it while the run is corrected keeps a new driver from starting
    in the middle (it waits, a fraction of a second).
    """
    from xpm_core.local_host import file_lock

    lock = experiment_dir / "lock"
    if not lock.exists():
        yield None
        return
    held = contextlib.ExitStack()
    try:
        held.enter_context(file_lock(lock, timeout=0))
    except (TimeoutError, OSError):
        yield False
        return
    with held:
        yield True


def mark_run_detached(run_dir: Path, status: Mapping[str, Any], reason: str) -> None:
    """Rewrite a run's ``status.json`` as ended "detached" (its driver died while it ran)."""
    content = {**status, "status": "detached", "ended_at": status.get("ended_at") or time.time(),
               "detached_reason": reason}
    temporary = run_dir / f".status.json.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(content, indent=2, default=str))
    os.replace(temporary, run_dir / "status.json")


def _read_status(run_dir: Path) -> Optional[dict[str, Any]]:
    try:
        content = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def detach_dead_runs(experiment_dir: Path, *, keep: Optional[str] = None) -> list[str]:
    """Mark "detached" every run of ``experiment_dir`` still "running" on disk; the caller knows its
    driver is gone (it holds the experiment lock). ``keep`` is a run id left alone (the caller's own)."""
    detached = []
    for run_dir in disk.run_directories(experiment_dir.parent.parent, experiment_dir.name):
        if run_dir.name == keep:
            continue
        status = _read_status(run_dir)
        if status is not None and status.get("status") == "running":
            mark_run_detached(run_dir, status, "its driver ended without recording the end of the run")
            detached.append(run_dir.name)
    return detached


# ---- a reader's pass over the workspace ------------------------------------------------------


@attrs.frozen
class Reconciliation:
    """What one pass found and recorded."""

    failed_jobs: tuple[str, ...] = ()  # job ids given a NAME.failed
    detached_runs: tuple[tuple[str, str], ...] = ()  # (experiment id, run id)
    unscheduled_jobs: tuple[str, ...] = ()  # never started jobs of detached runs
    corrected_runs: tuple[tuple[str, str], ...] = ()  # runs whose index status was behind the disk


def reconcile(workspace: Path, index: WorkspaceIndex, probe: Probe = local_process_alive) -> Reconciliation:
    """Record the ends nobody recorded: dead jobs (``NAME.failed``) and dead drivers (run
    "detached", never-started jobs unscheduled), on disk and in ``index``.

    Cheap when nothing is wrong: one query for unfinished jobs, one for running runs.
    """
    failed = _reconcile_jobs(workspace, index, probe)
    detached, unscheduled, corrected = _reconcile_runs(workspace, index)
    return Reconciliation(tuple(failed), tuple(detached), tuple(unscheduled), tuple(corrected))


def _absolute(workspace: Path, stored: str) -> Path:
    return Path(stored) if os.path.isabs(stored) else workspace / stored


def _reconcile_jobs(workspace: Path, index: WorkspaceIndex, probe: Probe) -> list[str]:
    failed = []
    rows = index.execute(
        "SELECT job_id, task_id, path FROM jobs WHERE state IN (?, ?)",
        (JobState.SCHEDULED.value, JobState.RUNNING.value),
    )
    for job_id, task_id, path in rows:
        job_dir = _absolute(workspace, path)
        marker = conclude_if_gone(job_dir, task_id, probe)
        if marker is None:
            continue
        failed.append(job_id)
        record_marker(index, job_id, marker)
    return failed


def record_marker(index: WorkspaceIndex, job_id: str, marker: disk.FinalMarker) -> None:
    """Tell the index the final state a marker gives (best effort: the marker wins anyway)."""
    try:
        index.record_job_state(job_id, marker.state, failure_reason=marker.failure_reason,
                               ended=time.time(), exit_code=marker.exit_code)
    except Exception as error:  # a busy or read-only index: readers apply the marker themselves
        logger.debug("could not record %s in the index: %s", job_id, error)


def _reconcile_runs(
    workspace: Path, index: WorkspaceIndex
) -> tuple[list[tuple[str, str]], list[str], list[tuple[str, str]]]:
    detached: list[tuple[str, str]] = []
    unscheduled: list[str] = []
    corrected: list[tuple[str, str]] = []
    running = index.execute("SELECT experiment_id, run_id FROM runs WHERE status = 'running'")
    experiments = sorted({experiment_id for experiment_id, _ in running} | _running_on_disk(workspace))
    for experiment_id in experiments:
        if not is_valid_name(experiment_id):
            continue
        experiment_dir = workspace / disk.EXPERIMENTS_DIR / experiment_id
        with _driver_gone(experiment_dir) as gone:
            if gone:
                for run_id in detach_dead_runs(experiment_dir):
                    detached.append((experiment_id, run_id))
            # Whatever the disk now says wins over an index left behind (deleted, rebuilt).
            for run_id in [run for xp, run in running if xp == experiment_id]:
                status = _read_status(experiment_dir / run_id)
                if status is None or status.get("status") == "running":
                    continue
                ended = disk.to_timestamp(status.get("ended_at")) or time.time()
                with contextlib.suppress(Exception):
                    index.record_run_finished(experiment_id, run_id, str(status.get("status")), ended)
                    if (experiment_id, run_id) not in detached:
                        corrected.append((experiment_id, run_id))
                if status.get("status") == "detached":
                    unscheduled.extend(unschedule_queued(workspace, index, experiment_id, run_id))
    return detached, unscheduled, corrected


def _running_on_disk(workspace: Path) -> set[str]:
    """Experiments whose ``current`` run says "running" on disk (the index may not know it)."""
    found: set[str] = set()
    root = workspace / disk.EXPERIMENTS_DIR
    try:
        entries = list(os.scandir(root))
    except OSError:
        return found
    for entry in entries:
        status = _read_status(Path(entry.path) / "current")
        if status is not None and status.get("status") == "running":
            found.add(entry.name)
    return found


def unschedule_queued(workspace: Path, index: WorkspaceIndex, experiment_id: str, run_id: str) -> list[str]:
    """Jobs of a detached run that its driver held in its queue (never started): unscheduled.

    A job the driver did start (its ``NAME.pid`` exists) before dying, with the index never told,
    gets its real state instead: running, or the end its process met unseen.
    """
    rows = index.execute(
        "SELECT j.job_id, j.task_id, j.path FROM jobs j JOIN job_runs m ON m.job = j.id "
        "JOIN runs r ON r.id = m.run WHERE r.experiment_id = ? AND r.run_id = ? AND j.state IN (?, ?) "
        # A job also queued by a live run of another experiment is that driver's to report.
        "AND NOT EXISTS (SELECT 1 FROM job_runs o JOIN runs q ON q.id = o.run WHERE o.job = j.id "
        "AND q.status = 'running' AND q.id != r.id)",
        (experiment_id, run_id, JobState.WAITING.value, JobState.READY.value),
    )
    changed = []
    for job_id, task_id, path in rows:
        job_dir = _absolute(workspace, path)
        name = disk.task_name(task_id)
        if disk.read_final_marker(job_dir, task_id) is not None:
            continue  # it ended: its marker speaks for it
        if (job_dir / f"{name}.pid").exists():
            # Started after all (by this or another driver): running, unless its process is gone.
            marker = conclude_if_gone(job_dir, task_id)
            if marker is not None:
                record_marker(index, job_id, marker)
            else:
                with contextlib.suppress(Exception):
                    index.record_job_state(job_id, JobState.RUNNING)
            continue
        with contextlib.suppress(Exception):
            if index.record_job_state(job_id, JobState.UNSCHEDULED):
                changed.append(job_id)
    return changed
