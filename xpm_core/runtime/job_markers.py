"""A job's markers (``NAME.done``, ``NAME.failed``, ``NAME.pid``), read where the job runs.

For a job of the driver's machine they are read from the disk directly, as fast as a file check
can be. For a job on another host (its launcher's connector is not the local one: SSH) they are
read through the connector with ``Connector.read_files``: a job's three files in one round trip.
The scheduler's poller gets those of the jobs that end with the poll that sees them end (the
direct launcher over SSH: one remote command per interval), or else reads those of all the jobs
that ended in a polling interval at once.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Mapping, Optional

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.launcher import ProcessRef
from xpm_core.workspace.disk import FinalMarker, failed_marker, read_final_marker

if TYPE_CHECKING:
    from xpm_core.runtime.job import Job

logger = logging.getLogger("xpm.scheduler")

#: The marker files of a job, as ``NAME.<suffix>``.
SUFFIXES = ("done", "failed", "pid")


@attrs.frozen
class JobMarkers:
    """What a job's folder says: its final state if it ended, and the process it was started as."""

    final: Optional[FinalMarker]
    process: Optional[ProcessRef]

    @property
    def done(self) -> bool:
        return self.final is not None and self.final.state is JobState.DONE


def is_remote(job: Job) -> bool:
    """Whether the job's folder is on another host, reached through its launcher's connector."""
    return job.launcher.connector.name != "local"


def paths(job: Job) -> list[str]:
    """The marker files to read for ``job``, as the connector's paths."""
    return [str(job.file(suffix)) for suffix in SUFFIXES]


def read(job: Job) -> JobMarkers:
    """The job's markers, from the disk or, for a remote job, with one call to its connector.

    Blocking for a remote job: the scheduler calls it from a worker thread then.
    """
    if is_remote(job):
        return from_files(job, job.launcher.connector.read_files(paths(job)))
    final = read_final_marker(job.path, job.task_id)
    if final is not None and final.state is JobState.DONE:
        return JobMarkers(final, None)  # a done job is never followed: no need for its pid
    try:
        pid_text: str | None = job.file("pid").read_text()
    except FileNotFoundError:
        pid_text = None
    return JobMarkers(final, _process(job, pid_text))


def final_marker(job: Job, files: Optional[Mapping[str, Optional[str]]]) -> Optional[FinalMarker]:
    """The job's final marker, from ``files`` read beforehand (remote jobs) or from the disk (``None``)."""
    if files is None:
        return read_final_marker(job.path, job.task_id)
    return from_files(job, files).final


def from_files(job: Job, files: Mapping[str, Optional[str]]) -> JobMarkers:
    """The markers of ``job`` among file contents read by ``Connector.read_files``."""
    done, failed, pid = (files.get(str(job.file(suffix))) for suffix in SUFFIXES)
    if done is not None:
        return JobMarkers(FinalMarker(JobState.DONE), None)
    return JobMarkers(None if failed is None else failed_marker(failed), _process(job, pid))


def _process(job: Job, text: Optional[str]) -> Optional[ProcessRef]:
    if text is None:
        return None
    try:
        return ProcessRef.from_json(json.loads(text))
    except (ValueError, TypeError) as exc:
        logger.warning("ignoring unreadable %s: %s", job.file("pid"), exc)
        return None
