"""Copying a run and its jobs when a workspace is on another host (``ssh://host/path``), through connectors.

Both sides are reached through the ``Connector`` interface (the SSH connector uses SFTP), never
rsync: locations resolve with the ``xpm_connector_for_url`` hook, so the core does not know who
serves them. As for local copies, each job folder is built in ``DEST/.xpm-staging/`` and renamed
into place, and the run folder goes last. The copy is resumable: each file is written under a
temporary name and renamed once complete, and a copy killed half-way leaves its staging folder
(named after its host and pid); the next copy from this host takes it over and only copies the
files it lacks.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import re
import socket
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

from xpm_core.maintenance.copy_plan import Endpoint, moved, owner_suffix, rewritten_json
from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.maintenance.copy_plan import CopyPlan
    from xpm_core.plugin.connector import Connector

#: Jobs whose markers are read with one connector call (a command line stays well under ARG_MAX).
MARKER_BATCH = 300
#: Bytes moved per read and write of a streamed file.
CHUNK = 1 << 20
#: The suffix of a file being written (renamed away once complete).
PART_SUFFIX = ".xpm-part"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_remote_location(location: object) -> bool:
    """Whether ``location`` is a URL another connector serves (``ssh://...``), not a local path."""
    text = str(location)
    return bool(_URL.match(text)) and not text.startswith("file://")


def endpoint(location: str | Path) -> Endpoint:
    """The connector and path of a workspace location (a local path, or a URL a plugin serves)."""
    from xpm_core.plugin.registry import get_registry

    registry = get_registry()
    text = str(location)
    if not is_remote_location(text):
        return Endpoint(registry.connectors()["local"].create(), PurePosixPath(os.path.abspath(text)), text)
    match = registry.connector_for_url(text)
    connector = registry.connectors()[match.name].create(**match.options)
    return Endpoint(connector, PurePosixPath(str(match.options.get("path") or "/")), text)


def _dead_copy_of_this_host(suffix: str) -> bool:
    """Whether a staging suffix ``HOST-PID`` names a copy process of this host that is gone."""
    host, _, pid = suffix.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# ---- planning -------------------------------------------------------------------------------


def plan(source: Endpoint, destination: Endpoint, experiment_id: str, run_id: Optional[str]) -> CopyPlan:
    """What copying run ``run_id`` (the latest when None) of ``experiment_id`` would do."""
    from xpm_core.maintenance.copy_plan import CopyError, CopyPlan, JobAction, JobCopy

    if (source.connector.to_spec(), source.connector.name, source.root) == (
        destination.connector.to_spec(), destination.connector.name, destination.root
    ):
        raise CopyError(f"the source and destination workspaces are the same folder ({source.label})")
    experiment_dir = source.root / disk.EXPERIMENTS_DIR / experiment_id
    try:
        names = source.connector.listdir(experiment_dir)
    except FileNotFoundError:
        raise CopyError(f"no experiment {experiment_id!r} in {source.label}") from None
    statuses = source.connector.read_files([experiment_dir / name / "status.json" for name in names])
    runs: dict[str, str] = {}
    for name in names:
        text = statuses[str(experiment_dir / name / "status.json")]
        if name != "current" and text is not None:
            runs[name] = text
    if run_id is None:
        if not runs:
            raise CopyError(f"experiment {experiment_id!r} has no run in {source.label}")
        run_id = max(runs, key=lambda name: disk.run_order_key(name, _started_at(runs[name])))
    elif run_id not in runs:
        raise CopyError(f"experiment {experiment_id!r} has no run {run_id!r} in {source.label}")
    source_run = experiment_dir / run_id
    run = _read_run(source.connector, source_run)
    destination_run = destination.root / disk.EXPERIMENTS_DIR / experiment_id / run_id

    states = _job_states(source.connector, source.root, run.jobs)
    at_source = _job_folders(source.connector, source.root, {entry.task_id for entry in run.jobs})
    at_destination = _job_folders(destination.connector, destination.root, {entry.task_id for entry in run.jobs})
    jobs = []
    for entry in run.jobs:
        state = states[entry.job_id]
        if (entry.task_id, entry.job_id) in at_destination:
            action = JobAction.EXISTS
        elif (entry.task_id, entry.job_id) not in at_source:
            action = JobAction.MISSING
        elif not state.finished and state is not JobState.UNSCHEDULED:
            action = JobAction.RUNNING
        else:
            action = JobAction.COPY
        jobs.append(JobCopy(task_id=entry.task_id, job_id=entry.job_id, state=state,
                            source=Path(_job_dir(source.root, entry.task_id, entry.job_id)),
                            destination=Path(_job_dir(destination.root, entry.task_id, entry.job_id)),
                            action=action))
    return CopyPlan(
        experiment_id=experiment_id,
        run_id=run_id,
        source_workspace=Path(source.root),
        destination_workspace=Path(destination.root),
        source_run=Path(source_run),
        destination_run=Path(destination_run),
        run_exists=destination.connector.exists(destination_run),
        run_status=run.status,
        jobs=jobs,
        source=source,
        destination=destination,
    )


def _job_dir(root: PurePosixPath, task_id: str, job_id: str) -> PurePosixPath:
    return root / disk.JOBS_DIR / task_id / job_id


def _started_at(status_text: str) -> Optional[float]:
    try:
        status = json.loads(status_text)
    except ValueError:
        return None
    return disk.to_timestamp(status.get("started_at")) if isinstance(status, dict) else None


def _read_run(connector: Connector, run_dir: PurePosixPath) -> disk.RunOnDisk:
    """A run of another host, read as the local reader reads it (its two files, fetched first)."""
    files = connector.read_files([run_dir / "status.json", run_dir / "jobs.jsonl"])
    with tempfile.TemporaryDirectory(prefix="xpm-copy-") as scratch:
        local = Path(scratch) / run_dir.parent.name / run_dir.name
        local.mkdir(parents=True)
        for name in ("status.json", "jobs.jsonl"):
            text = files[str(run_dir / name)]
            if text is not None:
                (local / name).write_text(text, encoding="utf-8")
        return disk.read_run(local)


def _job_states(connector: Connector, root: PurePosixPath, entries: Sequence[disk.RunJobEntry]) -> dict[str, JobState]:
    """Each job's state from its markers, read in a few connector calls (not one per job)."""
    states: dict[str, JobState] = {}
    for start in range(0, len(entries), MARKER_BATCH):
        batch = entries[start:start + MARKER_BATCH]
        paths = {}
        for entry in batch:
            folder = _job_dir(root, entry.task_id, entry.job_id)
            name = disk.task_name(entry.task_id)
            paths[entry.job_id] = [folder / f"{name}.{suffix}" for suffix in ("done", "failed", "pid")]
        files = connector.read_files([path for group in paths.values() for path in group])
        for job_id, (done, failed, pid) in paths.items():
            if files[str(done)] is not None:
                states[job_id] = JobState.DONE
            elif files[str(failed)] is not None:
                states[job_id] = disk.failed_marker(files[str(failed)] or "").state
            elif files[str(pid)] is not None:
                states[job_id] = JobState.RUNNING  # its process may still run: not copied
            else:
                states[job_id] = JobState.UNSCHEDULED
    return states


def _job_folders(connector: Connector, root: PurePosixPath, task_ids: set[str]) -> set[tuple[str, str]]:
    """(task id, job id) of the job folders of ``task_ids`` a workspace holds: one listing per task."""
    found: set[tuple[str, str]] = set()
    for task_id in sorted(task_ids):
        try:
            found.update((task_id, job_id) for job_id in connector.listdir(root / disk.JOBS_DIR / task_id))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return found


# ---- copying --------------------------------------------------------------------------------


def perform(copy_plan: CopyPlan, progress: Callable[[str], None]) -> None:
    """Carry out a plan of :func:`plan`; ``progress`` is told about each folder copied."""
    from xpm_core.maintenance.copy_plan import STAGING_DIR, CopyError, update_index

    source, destination = copy_plan.source, copy_plan.destination
    assert source is not None and destination is not None
    staging = destination.root / STAGING_DIR
    target = destination.connector
    try:
        target.mkdir(staging)
        target.mkdir(destination.root / disk.JOBS_DIR)
        if not target.exists(destination.root / ".__experimaestro__"):
            target.write_text(destination.root / ".__experimaestro__", "")
    except OSError as error:
        raise CopyError(f"cannot write to the destination workspace {destination.label}: {error}") from None

    for job in copy_plan.jobs_to_copy():
        progress(f"copying {job.key}")
        _install(source, PurePosixPath(job.source), destination, PurePosixPath(job.destination), staging, progress)
    if not copy_plan.run_exists:
        progress(f"copying run {copy_plan.experiment_id}/{copy_plan.run_id}")
        run_target = PurePosixPath(copy_plan.destination_run)
        _install(source, PurePosixPath(copy_plan.source_run), destination, run_target, staging, progress)
        _update_current_link(target, run_target)
    try:
        if not target.listdir(staging):
            target.remove_tree(staging)  # only when empty: another copy may be using it
    except OSError:
        pass
    if destination.connector.name == "local":
        update_index(copy_plan)
    else:
        # Its SQLite index is on the other host: xpm there rebuilds it from the files.
        progress(f"to list the copy in the index of {destination.label}, run there: "
                 f"xpm experiments sync --workdir {destination.root}")


def _ignored(relative: str) -> bool:
    from xpm_core.maintenance.copy_plan import IGNORED_PATTERNS

    name = posixpath.basename(relative)
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_PATTERNS)


def _install(source: Endpoint, folder: PurePosixPath, destination: Endpoint, target: PurePosixPath,
             staging: PurePosixPath,
             progress: Callable[[str], None]) -> None:
    """Copy ``folder`` of the source to ``target`` through the staging folder, resuming a copy
    that a killed process of this host left there."""
    from xpm_core.maintenance.copy_plan import CopyError

    out = destination.connector
    temporary = staging / f"{target.name}.{owner_suffix()}"
    try:
        present = _take_over_leftovers(out, staging, target.name, temporary)
        if present is None:
            out.mkdir(temporary)
            present = {}
        else:
            kept = sum(1 for entry in present.values() if entry.kind == "file")
            progress(f"resuming {target.name}: {kept} file(s) already copied")
        _copy_tree(source, folder, destination, temporary, present)
        out.mkdir(target.parent)
        if out.exists(target):
            out.remove_tree(temporary)  # another copy (or a driver) got there first: keep theirs
            return
        out.rename(temporary, target)
    except CopyError:
        raise
    except (OSError, RuntimeError, NotImplementedError, UnicodeDecodeError) as error:
        raise CopyError(f"cannot copy {source.label}:{folder} to {destination.label}:{target}: {error}") from None


def _take_over_leftovers(out: Connector, staging: PurePosixPath, name: str, temporary: PurePosixPath) -> Optional[dict]:
    """Adopt the staging folder a dead copy of this host left for ``name`` (others are removed):
    what it already holds, by relative path, or None when there is none."""
    present = None
    for leftover in out.listdir(staging):
        if not leftover.startswith(name + ".") or leftover == temporary.name:
            continue
        if not _dead_copy_of_this_host(leftover[len(name) + 1:]):
            continue
        if present is None:
            out.rename(staging / leftover, temporary)
            present = {}
            for entry in out.walk(temporary):
                if entry.path.endswith(PART_SUFFIX):  # a file cut off mid-way: written again
                    out.remove(temporary / entry.path)
                else:
                    present[entry.path] = entry
        else:
            out.remove_tree(staging / leftover)
    return present


def _copy_tree(
    source: Endpoint, folder: PurePosixPath, destination: Endpoint, temporary: PurePosixPath, present: dict
) -> None:
    from xpm_core.maintenance.copy_plan import REWRITTEN_FILES

    out = destination.connector
    old, new = str(source.root), str(destination.root)
    for entry in source.connector.walk(folder):
        if _ignored(entry.path):
            continue
        path = temporary / entry.path
        done = present.get(entry.path)
        if entry.kind == "directory":
            if done is None:
                out.mkdir(path)
        elif entry.kind == "symlink":
            assert entry.target is not None
            out.symlink(moved(entry.target, old, new), path)  # a run's links to its jobs move too
        elif posixpath.basename(entry.path) in REWRITTEN_FILES:
            text = source.connector.read_text(folder / entry.path)
            out.write_text(path, rewritten_json(text, entry.path, old, new))
        elif done is None or (done.kind, done.size, done.executable) != ("file", entry.size, entry.executable):
            part = path.with_name(path.name + PART_SUFFIX)
            with source.connector.open_read(folder / entry.path) as reader:
                with out.open_write(part, executable=entry.executable) as writer:
                    for chunk in _chunks(reader):
                        writer.write(chunk)
            out.rename(part, path)  # complete: a resumed copy keeps it


def _chunks(stream) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _update_current_link(out: Connector, run_dir: PurePosixPath) -> None:
    """Point ``experiments/<id>/current`` at the copied run when no other run sorts after it."""
    names = [name for name in out.listdir(run_dir.parent) if name not in ("current", "lock", "lock.holder")]
    if max(names, key=lambda name: disk.run_order_key(name, None)) != run_dir.name:
        return
    try:
        out.symlink(run_dir.name, run_dir.parent / "current")
    except OSError:
        pass

