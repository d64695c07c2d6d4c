"""``JobDependency``: experimaestro's "this job waits for that one", for ``task.add_dependencies(...)``.

xpm finds the jobs a task depends on by itself (submitted tasks among its parameters); a
``JobDependency`` adds one that is not a parameter: ``task.add_dependencies(JobDependency(job))``
makes ``task`` wait for ``job`` and end in error (reason ``dependency``) if it fails.
"""

from __future__ import annotations

import enum
from typing import Any

from xpm_core.plugin.job_state import JobState
from xpm_core.runtime.job import Job


class DependencyStatus(enum.Enum):
    """Where a dependency stands for the job waiting on it."""

    WAIT = 0  # not finished yet
    OK = 1  # done: the dependent may run
    FAIL = 2  # ended in error: the dependent will not run


class _DependencyInformation:
    """What ``dependencies_of`` reads on an explicit dependency: the job it stands for."""

    def __init__(self, job: Job) -> None:
        self.job = job


class JobDependency:
    """A dependency on ``origin``: a job, or a submitted task (its job is taken)."""

    def __init__(self, origin: Job | Any) -> None:
        job = origin if isinstance(origin, Job) else getattr(getattr(origin, "__xpm__", None), "job", None)
        if not isinstance(job, Job):
            raise TypeError(f"JobDependency needs a job or a submitted task, not {origin!r} (submit it first)")
        self.origin: Job = job
        #: The dependent job, once known (experimaestro sets it at submission; xpm does not need it).
        self.target: Job | None = None
        self.__xpm__ = _DependencyInformation(job)

    def status(self) -> DependencyStatus:
        """OK when the job is done, FAIL when it ended in error, else WAIT."""
        if self.origin.finished and self.origin.state is JobState.DONE:
            return DependencyStatus.OK
        if self.origin.finished and self.origin.state is JobState.ERROR:
            return DependencyStatus.FAIL
        return DependencyStatus.WAIT

    def __repr__(self) -> str:
        return f"JobDependency({self.origin.task_id}/{self.origin.identifier})"
