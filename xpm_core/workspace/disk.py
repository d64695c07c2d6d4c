"""Reading the workspace's files, the truth the index is rebuilt from: job markers, run directories.

The layout is experimaestro's v2 layout (docs/workspace.md), so a workspace written by
experimaestro 2.7.0 reads the same way. Every reader tolerates missing, half-written or
malformed files: a workspace is shared with running processes and must always be listable.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import attrs

from xpm_core.names import is_valid_name
from xpm_core.plugin.job_state import JobState

logger = logging.getLogger(__name__)

JOBS_DIR = "jobs"
EXPERIMENTS_DIR = "experiments"

# experimaestro's JobFailureStatus numbers, found in old `.failed` files ({"failure_status": 3}).
FAILURE_STATUS_NUMBERS = {
    0: "dependency",
    1: "failed",
    2: "memory",
    3: "timeout",
    4: "cancelled",
    5: "rejected_timelimit",
    6: "rejected_other",
    7: "missing_outputs",
}

#: Says whether the process a ``NAME.pid`` file describes is alive: True, False, or None (unknown).
#: Liveness depends on the launcher (a local pid, a Slurm job id, ...), so the launcher layer
#: provides it; without one, a pid file means "running".
ProcessProbe = Callable[[dict[str, Any]], Optional[bool]]


def task_name(task_id: str) -> str:
    """The NAME of a job's files: the last dot-component of its task id (``pkg.tasks.learn`` -> ``learn``)."""
    return task_id.rsplit(".", 1)[-1]


def job_directory(workspace: Path, task_id: str, job_id: str) -> Path:
    return workspace / JOBS_DIR / task_id / job_id


def to_timestamp(value: Any) -> Optional[float]:
    """Unix seconds from a number, a datetime or an ISO 8601 string (naive = local time); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _read_json(path: Path) -> Any:
    """The JSON content of ``path``; None when it is missing, unreadable or malformed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _reason(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return FAILURE_STATUS_NUMBERS.get(value, "failed")
    if isinstance(value, str) and value.strip():
        # "JobFailureStatus.TIMEOUT" and "TIMEOUT" both mean "timeout"
        return value.strip().rsplit(".", 1)[-1].lower()
    return None


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@attrs.frozen
class FinalMarker:
    """What a ``NAME.done`` or ``NAME.failed`` file says."""

    state: JobState
    failure_reason: Optional[str] = None
    exit_code: Optional[int] = None


def read_final_marker(job_dir: Path, task_id: str) -> Optional[FinalMarker]:
    """The final state the marker files give (``.done`` wins over ``.failed``), or None without marker."""
    name = task_name(task_id)
    if os.path.exists(job_dir / f"{name}.done"):
        return FinalMarker(JobState.DONE)
    try:
        text = (job_dir / f"{name}.failed").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return FinalMarker(JobState.ERROR, "failed")
    return failed_marker(text)


def failed_marker(text: str) -> FinalMarker:
    """What the content of a ``NAME.failed`` file says (read here, or through a remote connector)."""
    try:
        content = json.loads(text)
    except ValueError:
        # Empty or half-written: the job failed, why is not known yet.
        return FinalMarker(JobState.ERROR, "failed")
    if isinstance(content, int) and not isinstance(content, bool):
        # Legacy marker: a bare exit code, 0 meaning success.
        if content == 0:
            return FinalMarker(JobState.DONE)
        return FinalMarker(JobState.ERROR, "failed", content)
    if isinstance(content, dict):
        reason = _reason(content.get("reason")) or _reason(content.get("failure_status")) or "failed"
        return FinalMarker(JobState.ERROR, reason, _int_or_none(content.get("code")))
    return FinalMarker(JobState.ERROR, "failed")


@attrs.frozen(kw_only=True)
class JobOnDisk:
    """A job's state as its directory tells it."""

    job_id: str
    task_id: str
    path: str
    state: JobState
    failure_reason: Optional[str] = None
    started_time: Optional[float] = None
    ended_time: Optional[float] = None
    exit_code: Optional[int] = None
    retry_count: Optional[int] = None


def _status_state(status: dict[str, Any]) -> tuple[JobState, Optional[str]]:
    """State and failure reason recorded in a job's ``.experimaestro/status.json``, without markers."""
    name = status.get("state")
    if not isinstance(name, str):
        return JobState.UNSCHEDULED, None
    try:
        state = JobState.parse(name)
    except ValueError:
        # "transient" (a kind of unscheduled in experimaestro) or a state we do not know
        return JobState.UNSCHEDULED, None
    if state is JobState.DONE:
        # A job is done only if its .done marker says so (it may have been purged since).
        return JobState.ERROR, "missing_outputs"
    if state is JobState.ERROR:
        return state, _reason(status.get("failure_reason")) or "failed"
    return state, None


def read_job(
    job_dir: Path, task_id: str, job_id: str, process_alive: Optional[ProcessProbe] = None
) -> JobOnDisk:
    """A job's state from its directory: ``.done`` > ``.failed`` > ``.pid`` (running) > status.json.

    A job whose directory does not exist is unscheduled. ``process_alive`` is the launcher's
    liveness check for the ``NAME.pid`` process; when it answers False the pid file is ignored.
    """
    status = _read_json(job_dir / ".experimaestro" / "status.json")
    if not isinstance(status, dict):
        status = {}
    retry_count = _int_or_none(status.get("retry_count"))
    exit_code = _int_or_none(status.get("exit_code"))
    times = {
        "started_time": to_timestamp(status.get("started_time")),
        "ended_time": to_timestamp(status.get("ended_time")),
    }

    marker = read_final_marker(job_dir, task_id)
    process = None if marker is not None else _process(job_dir / f"{task_name(task_id)}.pid", process_alive)
    if process == "gone":
        marker = read_final_marker(job_dir, task_id)  # written just before the process exited?
    if marker is not None:
        state, reason = marker.state, marker.failure_reason
        exit_code = marker.exit_code if marker.exit_code is not None else exit_code
    elif process == "may run":
        state, reason = JobState.RUNNING, None
    elif process == "gone":
        # Ended without a completion marker (killed from outside, out of memory): it failed,
        # whatever status.json last said (reconcile.conclude_if_gone writes NAME.failed).
        state, reason = JobState.ERROR, "failed"
    else:
        state, reason = _status_state(status)
    return JobOnDisk(
        job_id=job_id,
        task_id=task_id,
        path=str(job_dir),
        state=state,
        failure_reason=reason,
        exit_code=exit_code,
        retry_count=retry_count,
        **times,
    )


def _process(pid_file: Path, process_alive: Optional[ProcessProbe]) -> Optional[str]:
    """The ``NAME.pid`` process: None (no pid file), "may run", or "gone" (the probe says so)."""
    if not pid_file.exists():
        return None
    if process_alive is None:
        return "may run"
    spec = _read_json(pid_file)
    return "gone" if process_alive(spec if isinstance(spec, dict) else {}) is False else "may run"


@attrs.frozen(kw_only=True)
class RunJobEntry:
    """One line of a run's ``jobs.jsonl``: a job added to the run."""

    job_id: str
    task_id: str
    tags: dict[str, Any]
    submitted_time: Optional[float]
    transient: bool = False
    depends_on: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RunOnDisk:
    """A run directory ``experiments/<xp-id>/<run-id>/``: its status.json and its jobs."""

    experiment_id: str
    run_id: str
    path: str
    status: Optional[str]
    hostname: Optional[str]
    started_at: Optional[float]
    ended_at: Optional[float]
    jobs: tuple[RunJobEntry, ...]


def _tags(value: Any) -> dict[str, Any]:
    # v2 writes {"key": value}; experiment events write [{"key": k, "value": v}, ...].
    if isinstance(value, dict):
        return {str(key): tag for key, tag in value.items()}
    if isinstance(value, list):
        return {
            str(item["key"]): item.get("value")
            for item in value
            if isinstance(item, dict) and "key" in item
        }
    return {}


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, skipping malformed lines (a writer killed mid-line)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    logger.debug("%s:%d: skipping a malformed line", path, number)
                    continue
                if isinstance(record, dict):
                    yield record
    except (OSError, UnicodeDecodeError):
        return


def _event_dependencies(run_dir: Path) -> dict[str, list[str]]:
    """job id -> depends-on ids from the run's archived experiment events (where 2.7.0 keeps them)."""
    dependencies: dict[str, list[str]] = {}
    events = run_dir / "events"
    if not events.is_dir():
        return dependencies
    for path in sorted(events.glob("event-*.jsonl")):
        for event in _jsonl(path):
            depends_on = event.get("depends_on")
            job_id = event.get("job_id")
            if isinstance(job_id, str) and isinstance(depends_on, list) and depends_on:
                dependencies[job_id] = [dep for dep in depends_on if isinstance(dep, str)]
    return dependencies


def read_run_jobs(run_dir: Path) -> list[RunJobEntry]:
    """The jobs of a run, from ``jobs.jsonl`` (a job listed twice keeps its last line)."""
    from_events = _event_dependencies(run_dir)
    entries: dict[str, RunJobEntry] = {}
    for line in _jsonl(run_dir / "jobs.jsonl"):
        job_id, task_id = line.get("job_id"), line.get("task_id")
        if not is_valid_name(job_id) or not is_valid_name(task_id):
            # Not a folder name (`../x`, ...): joining it would read or copy outside the workspace.
            logger.debug("%s: skipping the job %r of task %r, not valid names", run_dir, job_id, task_id)
            continue
        assert isinstance(job_id, str) and isinstance(task_id, str)
        depends_on = line.get("depends_on")
        if not isinstance(depends_on, list):
            depends_on = from_events.get(job_id, [])
        entries[job_id] = RunJobEntry(
            job_id=job_id,
            task_id=task_id,
            tags=_tags(line.get("tags")),
            submitted_time=to_timestamp(line.get("timestamp")),
            transient=bool(line.get("transient", False)),
            depends_on=tuple(dep for dep in depends_on if isinstance(dep, str)),
        )
    return list(entries.values())


def is_run_directory(path: Path) -> bool:
    return path.is_dir() and ((path / "status.json").exists() or (path / "jobs.jsonl").exists())


def read_run(run_dir: Path) -> RunOnDisk:
    """A run from its directory; fields of an unreadable status.json are None."""
    status = _read_json(run_dir / "status.json")
    if not isinstance(status, dict):
        status = {}
    return RunOnDisk(
        experiment_id=run_dir.parent.name,
        run_id=run_dir.name,
        path=str(run_dir),
        status=_text(status.get("status")),
        hostname=_text(status.get("hostname")),
        started_at=to_timestamp(status.get("started_at")),
        ended_at=to_timestamp(status.get("ended_at")),
        jobs=tuple(read_run_jobs(run_dir)),
    )


def run_directories(workspace: Path, experiment_id: Optional[str] = None) -> Iterator[Path]:
    """Run directories of one experiment, or of all; the ``current`` symlink is skipped."""
    root = workspace / EXPERIMENTS_DIR
    experiments = [root / experiment_id] if experiment_id is not None else _subdirectories(root)
    for experiment in experiments:
        for run in _subdirectories(experiment):
            if run.name != "current" and not run.is_symlink() and is_run_directory(run):
                yield run


def _subdirectories(path: Path) -> list[Path]:
    try:
        return sorted(child for child in path.iterdir() if child.is_dir())
    except OSError:
        return []


def run_order_key(run_id: str, started_at: Optional[float]) -> tuple:
    """Sort key of runs, latest last: start time, then run id (``20260319_120000.10`` after ``.9``)."""
    base, _, suffix = run_id.partition(".")
    return (
        started_at if started_at is not None else -math.inf,
        base,
        int(suffix) if suffix.isdigit() else -1,
        suffix,
    )


def job_directories(workspace: Path) -> Iterator[tuple[str, str, Path]]:
    """(task id, job id, directory) of every ``jobs/<task-id>/<hash>/`` directory."""
    for task_dir in _subdirectories(workspace / JOBS_DIR):
        for job_dir in _subdirectories(task_dir):
            yield task_dir.name, job_dir.name, job_dir


@attrs.frozen(kw_only=True)
class WorkspaceOnDisk:
    """Everything the index holds, as read from the files."""

    runs: list[RunOnDisk]
    jobs: dict[str, JobOnDisk]


def read_workspace(workspace: Path, process_alive: Optional[ProcessProbe] = None) -> WorkspaceOnDisk:
    """Read every run and job of ``workspace``: job directories, and jobs that runs list."""
    workspace = Path(workspace)
    runs = [read_run(path) for path in run_directories(workspace)]
    jobs: dict[str, JobOnDisk] = {}
    for task_id, job_id, path in job_directories(workspace):
        jobs[job_id] = read_job(path, task_id, job_id, process_alive)
    for run in runs:
        for entry in run.jobs:
            if entry.job_id not in jobs:
                # Listed by a run but never started (no directory yet): unscheduled.
                path = job_directory(workspace, entry.task_id, entry.job_id)
                jobs[entry.job_id] = read_job(path, entry.task_id, entry.job_id, process_alive)
    return WorkspaceOnDisk(runs=runs, jobs=jobs)


def run_started_at(run_dir: Path) -> Optional[float]:
    status = _read_json(run_dir / "status.json")
    return to_timestamp(status.get("started_at")) if isinstance(status, dict) else None


def latest_run_directory(workspace: Path, experiment_id: str) -> Optional[Path]:
    """The latest run directory of an experiment (by start time, then run id), or None."""
    runs = list(run_directories(workspace, experiment_id))
    if not runs:
        return None
    return max(runs, key=lambda run: run_order_key(run.name, run_started_at(run)))
