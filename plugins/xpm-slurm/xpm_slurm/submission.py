"""Submitting with sbatch: how its answers read, for the core's paced, retrying ``SubmitThrottle``."""

from __future__ import annotations

import re

from xpm_core.plugin import CommandResult, SubmitError, SubmitLimitReached, SubmitPolicy, describe_result
from xpm_core.plugin import SubmitThrottle as CoreSubmitThrottle

__all__ = [
    "SUBMIT_LIMIT_ERRORS",
    "TRANSIENT_ERRORS",
    "SlurmSubmitError",
    "SubmitLimitReached",
    "SubmitPolicy",
    "SubmitThrottle",
    "describe",
    "is_transient",
    "parse_job_id",
]

_JOB_ID = re.compile(r"^(\d+)(?:;\S*)?$")

#: sbatch errors saying a submit limit (jobs queued per user, account or QOS) is reached: they
#: clear when other jobs end. An array counts one job per task, so a larger array than the limit
#: never passes: it is split instead (see ``SubmitLimitReached``).
SUBMIT_LIMIT_ERRORS = re.compile(
    r"AssocMaxSubmitJobLimit|AssocGrpSubmitJobsLimit|QOSMaxSubmitJobPerUserLimit"
    r"|QOSMaxSubmitJobPerAccountLimit|QOSGrpSubmitJobsLimit|job submit limit",
    re.IGNORECASE,
)

#: sbatch errors that clear with time: a submit limit, or the controller is overloaded or
#: restarting. Anything else (unknown partition, invalid option ...) fails at once.
TRANSIENT_ERRORS = re.compile(
    "|".join(
        (
            SUBMIT_LIMIT_ERRORS.pattern,
            r"Socket timed out",
            r"Unable to contact slurm controller",
            r"Slurm temporarily unable to accept job",
            r"Resource temporarily unavailable",
            r"Zero Bytes were transmitted or received",
            r"Connection refused",
            r"Connection reset by peer",
        )
    ),
    re.IGNORECASE,
)


#: sbatch's own error lines, on one line (kept under its former name for callers).
describe = describe_result


class SlurmSubmitError(SubmitError):
    """sbatch refused a job for good (or kept refusing it past the retry time)."""


def parse_job_id(output: str) -> str:
    """The job id printed by ``sbatch --parsable`` (``1234`` or ``1234;cluster``)."""
    for line in output.splitlines():
        match = _JOB_ID.match(line.strip())
        if match:
            return match.group(1)
    raise SlurmSubmitError(f"sbatch printed no job id: {output.strip()!r}")


def is_transient(result: CommandResult) -> bool:
    """Whether a failed sbatch may succeed later (see ``TRANSIENT_ERRORS``)."""
    return bool(TRANSIENT_ERRORS.search(result.stderr) or TRANSIENT_ERRORS.search(result.stdout))


class SubmitThrottle(CoreSubmitThrottle):
    """The core's submission pacing, reading sbatch's answers (job id, transient refusals, limits)."""

    command = "sbatch"
    error = SlurmSubmitError

    def parse_id(self, result: CommandResult) -> str:
        return parse_job_id(result.stdout)

    def is_transient(self, result: CommandResult) -> bool:
        return is_transient(result)

    def is_limit(self, result: CommandResult) -> bool:
        return bool(SUBMIT_LIMIT_ERRORS.search(result.stderr + result.stdout))
