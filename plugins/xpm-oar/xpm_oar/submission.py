"""Submitting with oarsub: how its answers read, for the core's paced, retrying ``SubmitThrottle``."""

from __future__ import annotations

import re

from xpm_core.plugin import CommandResult, SubmitError, SubmitThrottle

_JOB_ID = re.compile(r"^OAR_JOB_ID=(-?\d+)\s*$", re.MULTILINE)

#: oarsub errors that clear with time: the server or its database is unreachable for now.
#: Anything else (an admission rule, an unknown queue, a bad resource request) fails at once.
TRANSIENT_ERRORS = re.compile(
    r"connect to the database|Cannot connect|Connection refused|Connection reset"
    r"|Resource temporarily unavailable|timed out",
    re.IGNORECASE,
)


class OarSubmitError(SubmitError):
    """oarsub refused a job (an admission rule, an unknown queue, a bad request ...)."""


def parse_job_ids(output: str) -> list[str]:
    """The job ids oarsub printed (``OAR_JOB_ID=N``, one per array job, in array order)."""
    ids = _JOB_ID.findall(output)
    if not ids or any(job_id.startswith("-") for job_id in ids):
        # OAR prints a negative id (OAR_JOB_ID=-5) when the request is refused after parsing.
        raise OarSubmitError(f"oarsub printed no job id: {output.strip()!r}")
    return ids


def refusal(result: CommandResult) -> str:
    """OAR's own reason for a refusal: its ``[ADMISSION RULE]`` / ``ERROR`` lines, else all output."""
    lines = [line.strip() for line in (result.stderr + "\n" + result.stdout).splitlines() if line.strip()]
    # Admission rules also print informative lines ("Set default walltime"); a refusal is the
    # last one, and errors say ERROR.
    useful = [line for line in lines if "ERROR" in line.upper() or "not allowed" in line]
    chosen = useful or lines[-1:]
    return " / ".join(chosen) or f"exit code {result.returncode}, no output"


class OarSubmitThrottle(SubmitThrottle):
    """The core's submission pacing, reading oarsub's answers (``OAR_JOB_ID=`` lines, refusals)."""

    command = "oarsub"
    error = OarSubmitError

    def parse_id(self, result: CommandResult) -> str:
        # Several lines for an array: they are kept whole, split by the launcher.
        return " ".join(parse_job_ids(result.stdout))

    def is_transient(self, result: CommandResult) -> bool:
        return bool(TRANSIENT_ERRORS.search(result.stderr + result.stdout))

    def explain(self, result: CommandResult) -> str:
        return refusal(result)
