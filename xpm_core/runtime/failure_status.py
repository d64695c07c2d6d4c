"""``JobFailureStatus``: why a job ended in error, as experimaestro names it, over xpm's reason strings."""

from __future__ import annotations

import enum
from typing import Any


class JobFailureStatus(str, enum.Enum):
    """Why a job failed; each value is the reason xpm records (``job.failure_reason``, ``NAME.failed``).

    A string enum: ``job.failure_reason == JobFailureStatus.TIMEOUT`` holds for a job that timed
    out, and ``JobFailureStatus(job.failure_reason)`` reads any reason (one xpm does not know, e.g.
    from a plugin, reads as ``FAILED``). experimaestro's numbers are accepted too:
    ``JobFailureStatus(3) is JobFailureStatus.TIMEOUT``.
    """

    DEPENDENCY = "dependency"  # a job it depends on failed: it did not run
    FAILED = "failed"  # the task raised, or its process exited with a non-zero code
    MEMORY = "memory"  # out of memory (batch systems)
    TIMEOUT = "timeout"  # time limit reached (a resumable task is restarted)
    CANCELLED = "cancelled"  # stopped: signal, ``xpm jobs kill``, scancel/oardel
    REJECTED_TIMELIMIT = "rejected_timelimit"  # refused by the batch system: time limit too long
    REJECTED_OTHER = "rejected_other"  # refused by the batch system, another reason
    MISSING_OUTPUTS = "missing_outputs"  # ended without the outputs it must leave
    #: experimaestro 2.7.0 made DELETED an alias of MISSING_OUTPUTS (same number); here it is its own.
    DELETED = "deleted"

    @property
    def number(self) -> int:
        """experimaestro's number for this status (``DELETED``, which has none of its own: 8)."""
        return list(JobFailureStatus).index(self)

    @classmethod
    def _missing_(cls, value: Any) -> JobFailureStatus | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            members = list(cls)
            return members[value] if 0 <= value < len(members) else None
        if isinstance(value, str):
            # "TIMEOUT", "JobFailureStatus.TIMEOUT" and "timeout" are one status.
            name = value.strip().rsplit(".", 1)[-1].lower()
            name = _ALIASES.get(name, name)
            for member in cls:
                if member.value == name:
                    return member
            return cls.FAILED if name else None
        return None

    def __str__(self) -> str:
        return self.value


#: Reasons xpm records under another name.
_ALIASES = {"killed": "cancelled"}  # a process ended by a signal (``xpm cleanup``, reconciliation)
