"""The records the workspace index hands out (experiments, runs, jobs) and takes in (job submissions)."""

from __future__ import annotations

import functools
import json
from typing import Any, Iterable, Mapping, Optional

import attrs

from xpm_core.plugin.job_state import JobState


def _job_ids(values: Iterable[str]) -> tuple[str, ...]:
    """A typed ``tuple`` converter (attrs gives mypy no element type for a bare ``tuple``)."""
    return tuple(values)

@attrs.frozen(kw_only=True)
class JobSubmission:
    """What the driver knows when it adds a job to a run (one ``jobs.jsonl`` line)."""

    job_id: str
    task_id: str
    path: str = attrs.field(converter=str)  # the job directory (a Path is accepted)
    tags: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    depends_on: tuple[str, ...] = attrs.field(default=(), converter=_job_ids)
    submitted_time: Optional[float] = None
    transient: bool = False


@attrs.frozen(kw_only=True)
class ExperimentRecord:
    """An experiment id with its number of runs and its latest run."""

    experiment_id: str
    run_count: int
    latest_run_id: Optional[str]


@attrs.frozen(kw_only=True)
class RunRecord:
    """One run of an experiment (``experiments/<xp-id>/<run-id>/``)."""

    experiment_id: str
    run_id: str
    status: Optional[str]  # "running", then "done" or "failed"; None when status.json is unreadable
    hostname: Optional[str]
    started_at: Optional[float]  # unix seconds
    ended_at: Optional[float]
    job_count: int


# Mutable on purpose: a listing builds 100,000 of these, and frozen attrs classes take five
# times longer to build. Treat them as read-only.
@attrs.define
class JobRecord:
    """A job as a listing shows it; ``experiment_id``/``run_id``/``tags``/``submitted_time`` describe
    the latest run (of the queried experiment, if any) that submitted the job, and are None/empty
    for a job directory that no run lists.

    ``tags`` is decoded from ``tags_json`` (a JSON object, keys sorted) on first access: listing
    100,000 jobs then costs no JSON decoding for the tags nobody reads.
    """

    job_id: str
    task_id: str
    path: str
    state: JobState
    failure_reason: Optional[str]  # lower-case, e.g. "failed", "timeout", "cancelled"
    started_time: Optional[float]  # unix seconds
    ended_time: Optional[float]
    exit_code: Optional[int]
    retry_count: Optional[int]
    experiment_id: Optional[str]
    run_id: Optional[str]
    submitted_time: Optional[float]
    tags_json: Optional[str] = attrs.field(default=None, repr=False)

    @functools.cached_property
    def tags(self) -> dict[str, Any]:
        """{tag: value} in the run that describes the job; values keep their JSON type."""
        return json.loads(self.tags_json) if self.tags_json else {}

    def __repr__(self) -> str:
        return f"JobRecord({self.task_id}/{self.job_id}, {self.state.value}, tags={self.tags})"


def tags_json(tags: Mapping[str, Any]) -> Optional[str]:
    """The ``tags_json`` form of a tag dict (None when empty)."""
    return json.dumps(dict(tags), sort_keys=True) if tags else None
