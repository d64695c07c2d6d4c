"""What an experiment copy does (its plan, jobs and errors), shared by the local and the connector copies."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Optional

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.plugin.connector import Connector

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


@attrs.frozen
class Endpoint:
    """A workspace as the copy reaches it: a connector and the workspace's path on its host."""

    connector: Connector
    root: PurePosixPath
    label: str  # how the user named it (a URL or a path)


def moved(text: str, source: str, destination: str) -> str:
    if text == source or text.startswith(source + os.sep):
        return destination + text[len(source):]
    return text


def rewrite(value: Any, source: str, destination: str) -> Any:
    if isinstance(value, str):
        return moved(value, source, destination)
    if isinstance(value, list):
        return [rewrite(item, source, destination) for item in value]
    if isinstance(value, dict):
        return {key: rewrite(item, source, destination) for key, item in value.items()}
    return value


def rewritten_json(text: str, name: str, source: str, destination: str) -> str:
    """The content of the JSON (or JSON lines, by ``name``) file ``text`` with source paths moved."""
    if source not in text:
        return text
    if name.endswith(".jsonl"):
        lines = []
        for line in text.splitlines():
            try:
                lines.append(json.dumps(rewrite(json.loads(line), source, destination), separators=(",", ":")))
            except ValueError:
                lines.append(line)  # a malformed line stays as it was: readers skip it
        return "\n".join(lines) + "\n"
    try:
        data = json.loads(text)
    except ValueError:
        return text
    indent = 2 if text.lstrip().startswith("{\n") else None
    return json.dumps(rewrite(data, source, destination), indent=indent)


def owner_suffix() -> str:
    """Names this process's staging copies: concurrent copies (from other hosts too) never clash."""
    return f"{socket.gethostname()}-{os.getpid()}"


def update_index(plan: CopyPlan) -> None:
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

