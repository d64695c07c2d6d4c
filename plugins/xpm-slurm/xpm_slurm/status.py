"""Reading job states: the sacct and squeue commands xpm runs, their output parsed into ``ProcessState``s."""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Mapping, Sequence

import attrs

from xpm_core.plugin import ProcessState, ProcessStatus

#: sacct fields asked for, in this order (``-P``: separated by ``|``).
SACCT_FIELDS = ("JobID", "JobName", "State", "ExitCode", "Submit", "Reason")
#: squeue fields asked for: job id (array tasks as ``1234_5``), name, state, reason, submit time.
SQUEUE_FORMAT = "%i|%j|%T|%r|%V"
#: Makes sacct and squeue print times as seconds since the epoch, whatever the cluster's locale
#: and time zone (needed to compare a submission time with the one xpm recorded).
TIME_ENV = {"SLURM_TIME_FORMAT": "%s"}

_QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD"}
_RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED", "RESIZING"}
#: Why the batch system ended a job, for the states that say more than an exit code.
_FAILURES = {
    "TIMEOUT": "timeout",
    "OUT_OF_MEMORY": "memory",
    "CANCELLED": "cancelled",
    "NODE_FAIL": "node failure",
    "BOOT_FAIL": "boot failure",
    "DEADLINE": "deadline",
    "PREEMPTED": "preempted",
    "REVOKED": "revoked",
}

#: Pending reasons that mean the job can never start as submitted (a per-job limit of the
#: partition, QOS or association, an unknown account, an unsatisfiable dependency). Group limits
#: (``AssocGrpCpuLimit`` ...) are not in this list: they clear when other jobs end.
FATAL_PENDING_REASONS = frozenset(
    {
        "PartitionTimeLimit",
        "PartitionNodeLimit",
        "BadConstraints",
        "DependencyNeverSatisfied",
        "InvalidAccount",
        "InvalidQOS",
        "AssocMaxWallDurationPerJobLimit",
        "AssocMaxNodePerJobLimit",
        "AssocMaxCpuPerJobLimit",
        "AssocMaxGRESPerJob",
        "QOSMaxWallDurationPerJobLimit",
        "QOSMaxNodePerJobLimit",
        "QOSMaxCpuPerJobLimit",
        "QOSMaxGRESPerJob",
        "QOSMaxMemoryPerJob",
        "QOSMinGRES",
    }
)

_ARRAY_ROW = re.compile(r"^(?P<array>\d+)_\[(?P<ranges>[^\]]*)\]$")


@attrs.frozen
class JobRow:
    """One job as sacct or squeue reports it."""

    id: str  # "1234" or, for an array task, "1234_5"
    name: str
    state: str  # first word of the state: "CANCELLED by 0" -> "CANCELLED"
    exit_code: int | None  # None when the command does not report it (squeue)
    submitted: float | None  # seconds since the epoch
    reason: str


def expand_ids(job_id: str) -> list[str]:
    """Array task ids in a row id: ``"12_[3-5,9%2]"`` -> ``12_3 12_4 12_5 12_9``; others unchanged.

    Slurm reports the tasks of an array that are still pending together, as one row.
    """
    match = _ARRAY_ROW.match(job_id)
    if match is None:
        return [job_id]
    array = match.group("array")
    ranges = match.group("ranges").partition("%")[0]  # "%2" is the throttle, not a task
    ids: list[str] = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        if not first:
            continue
        ids.extend(f"{array}_{task}" for task in range(int(first), int(last or first) + 1))
    return ids


def _exit_code(text: str) -> int | None:
    """sacct's ``CODE:SIGNAL``; a job killed by a signal gets the shell's ``128 + signal``."""
    code, _, signal = text.partition(":")
    try:
        code_value, signal_value = int(code), int(signal or 0)
    except ValueError:
        return None
    return 128 + signal_value if signal_value else code_value


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # "Unknown", "N/A"
        return None


def parse_sacct(output: str) -> Iterator[JobRow]:
    """Rows of ``sacct -X -n -P --format=<SACCT_FIELDS>`` (run with ``TIME_ENV``)."""
    for line in output.splitlines():
        fields = line.split("|")
        if len(fields) < len(SACCT_FIELDS):
            continue
        job_id, name, state, exit_code, submitted, reason = fields[: len(SACCT_FIELDS)]
        for task_id in expand_ids(job_id):
            yield JobRow(
                id=task_id,
                name=name,
                state=state.split(" ")[0].rstrip("+"),
                exit_code=_exit_code(exit_code),
                submitted=_seconds(submitted),
                reason=reason,
            )


def parse_squeue(output: str) -> Iterator[JobRow]:
    """Rows of ``squeue -h -r -t all --format=<SQUEUE_FORMAT>`` (run with ``TIME_ENV``)."""
    for line in output.splitlines():
        fields = line.split("|")
        if len(fields) < 5:
            continue
        job_id, name, state, reason, submitted = fields[:5]
        for task_id in expand_ids(job_id):
            yield JobRow(
                id=task_id,
                name=name,
                state=state.strip(),
                exit_code=None,
                submitted=_seconds(submitted),
                reason=reason.strip(),
            )


@attrs.frozen
class Expectation:
    """What xpm knows of a job it submitted, to tell its rows from an older job with the same id."""

    name: str | None  # the --job-name xpm gave it
    submitted: float | None  # when xpm submitted it (seconds since the epoch)


#: Clocks of the driver and the cluster may differ (SSH); a row submitted more than this before
#: xpm's own stamp belongs to an older job that had the same id (Slurm reuses ids after a reset).
CLOCK_TOLERANCE = 3600.0


def is_ours(row: JobRow, expected: Expectation) -> bool:
    """Whether ``row`` describes the job xpm submitted, not an older one with the same id.

    The name is decisive when it matches. slurmdbd may briefly show another name for a new job
    (observed: ``allocation``), so a row with another name is still taken when it was submitted
    after xpm's stamp (minus ``CLOCK_TOLERANCE``).
    """
    if expected.name is None or row.name == expected.name:
        return True
    if expected.submitted is None or row.submitted is None:
        return False
    return row.submitted >= expected.submitted - CLOCK_TOLERANCE


def select(rows: Iterable[JobRow], expected: Mapping[str, Expectation]) -> dict[str, JobRow]:
    """For each expected id, its most recently submitted row that is ours."""
    chosen: dict[str, JobRow] = {}
    for row in rows:
        expectation = expected.get(row.id)
        if expectation is None or not is_ours(row, expectation):
            continue
        current = chosen.get(row.id)
        if current is None or (row.submitted or 0.0) >= (current.submitted or 0.0):
            chosen[row.id] = row
    return chosen


def state_of(row: JobRow, fatal_reasons: frozenset[str] = FATAL_PENDING_REASONS) -> ProcessState:
    """The launcher's answer for one row.

    A pending job with a fatal reason is reported as finished (``rejected: <Reason>``): the
    launcher cancels it. A job cancelled while pending for such a reason keeps it in sacct, so a
    later driver reports the same rejection.
    """
    if row.state in _QUEUED:
        if row.reason in fatal_reasons:
            return ProcessState(ProcessStatus.FINISHED, failure=f"rejected: {row.reason}")
        return ProcessState(ProcessStatus.QUEUED)
    if row.state in _RUNNING:
        return ProcessState(ProcessStatus.RUNNING)
    if row.state == "COMPLETED":
        return ProcessState(ProcessStatus.FINISHED, exit_code=0 if row.exit_code is None else row.exit_code)
    if row.state == "CANCELLED" and row.reason in fatal_reasons:
        return ProcessState(ProcessStatus.FINISHED, failure=f"rejected: {row.reason}")
    failure = _FAILURES.get(row.state)
    exit_code = row.exit_code
    if failure is not None and exit_code == 0:
        # sacct says 0:0 for jobs stopped before they ran: that is not a success.
        exit_code = None
    if row.state == "FAILED" or failure is not None:
        return ProcessState(ProcessStatus.FINISHED, exit_code=exit_code, failure=failure)
    # A state this version does not know: say so rather than guess.
    return ProcessState(ProcessStatus.UNKNOWN)


def must_cancel(row: JobRow, fatal_reasons: frozenset[str] = FATAL_PENDING_REASONS) -> bool:
    """Whether the job waits for a reason that will never clear (xpm then cancels it)."""
    return row.state in _QUEUED and row.reason in fatal_reasons


def sacct_command(binpath: str, ids: Sequence[str]) -> list[str]:
    """The sacct invocation for one batch of job ids (array jobs by their array id)."""
    return [
        f"{binpath}sacct",
        "--allocations",
        "--noheader",
        "--parsable2",
        f"--format={','.join(SACCT_FIELDS)}",
        f"--jobs={','.join(ids)}",
    ]


def squeue_command(binpath: str, ids: Sequence[str]) -> list[str]:
    """The squeue invocation for one batch of job ids, one row per array task, ended jobs included."""
    return [
        f"{binpath}squeue",
        "--noheader",
        "--array",
        "--states=all",
        f"--format={SQUEUE_FORMAT}",
        f"--jobs={','.join(ids)}",
    ]


def query_ids(ref_ids: Iterable[str]) -> list[str]:
    """The ids to ask about: array tasks by their array id (sacct cannot see a pending task alone)."""
    return sorted({ref_id.partition("_")[0] for ref_id in ref_ids}, key=lambda text: (len(text), text))
