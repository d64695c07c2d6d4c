"""The states a job goes through, shared by the scheduler, the index, the CLI and event hooks."""

from __future__ import annotations

import enum


class JobState(str, enum.Enum):
    """Where a job is in its life; values are the lower-case names written to disk and the index."""

    UNSCHEDULED = "unscheduled"  # known to the plan, not yet handed to the scheduler
    WAITING = "waiting"  # waiting for dependencies or tokens
    READY = "ready"  # dependencies met, about to be launched
    SCHEDULED = "scheduled"  # handed to a launcher (queued on a batch system)
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        """Whether the job will not change state again without being resubmitted."""
        return self in (JobState.DONE, JobState.ERROR)

    @classmethod
    def parse(cls, name: str) -> JobState:
        """Read a state name case-insensitively (``"DONE"``, ``"done"``); clear error otherwise."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            known = ", ".join(state.value for state in cls)
            raise ValueError(f"unknown job state {name!r}; expected one of: {known}") from None

    def __str__(self) -> str:
        return self.value
