"""Reading job states: the oarstat command xpm runs, its JSON parsed into ``ProcessState``s."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

import attrs

from xpm_core.plugin import ProcessState, ProcessStatus

_QUEUED = {"Waiting", "Hold", "toLaunch", "toAckReservation", "Launching"}
_RUNNING = {"Running", "Suspended", "Resuming", "Finishing"}
_ENDED = {"Terminated", "Error"}
#: toError: OAR is moving the job to Error; its events and exit code come with that state.
_PASSING = {"toError"}
#: Every state OAR 2.5 reports (``oarstat``'s ``state`` field).
STATES = frozenset(_QUEUED | _RUNNING | _ENDED | _PASSING)

_NEW_ID = re.compile(r"new id = (\d+)")


@attrs.frozen
class JobRow:
    """One job as ``oarstat -f -J`` reports it."""

    id: str
    state: str
    #: OAR's ``exit_code``: the job's raw wait status (768 is ``exit 3``); None before the end.
    wait_status: int | None
    #: Event types, in order (``WALLTIME``, ``BESTEFFORT_KILL``, ``FRAG_JOB_REQUEST`` ...).
    events: tuple[str, ...]
    #: The job OAR submitted again in its place (besteffort + idempotent), if any.
    resubmitted_as: str | None
    name: str = ""
    message: str = ""


def oarstat_command(binpath: str, ids: Sequence[str]) -> list[str]:
    """``oarstat -f -J -j ID ...``: the full records (with exit codes and events) of ``ids``."""
    args = [f"{binpath}oarstat", "-f", "-J"]
    for job_id in ids:
        args += ["-j", str(job_id)]
    return args


def exit_code(wait_status: int | None) -> int | None:
    """The exit code in a wait status: 768 -> 3; killed by signal N -> 128 + N (as a shell says)."""
    if wait_status is None:
        return None
    signal = wait_status & 0x7F
    if signal:
        return 128 + signal
    return (wait_status >> 8) & 0xFF


def parse_oarstat(output: str) -> dict[str, JobRow]:
    """Rows of ``oarstat -f -J``, by job id (oarstat prints nothing for unknown jobs)."""
    if not output.strip():
        return {}
    data = json.loads(output)
    rows = {}
    for job_id, record in data.items():
        rows[str(job_id)] = _row(str(job_id), record)
    return rows


def _row(job_id: str, record: Mapping[str, Any]) -> JobRow:
    events = [event for event in record.get("events") or [] if isinstance(event, Mapping)]
    resubmitted_as = None
    for event in events:
        if event.get("type") == "RESUBMIT_JOB_AUTOMATICALLY":
            match = _NEW_ID.search(str(event.get("description", "")))
            if match:
                resubmitted_as = match.group(1)
    status = record.get("exit_code")
    return JobRow(
        id=job_id,
        state=str(record.get("state", "")),
        wait_status=int(status) if isinstance(status, (int, str)) and str(status).lstrip("-").isdigit() else None,
        events=tuple(str(event.get("type", "")) for event in events),
        resubmitted_as=resubmitted_as,
        name=str(record.get("name") or ""),
        message=str(record.get("message") or ""),
    )


def failure_of(row: JobRow) -> str | None:
    """Why OAR ended the job, when its events say so; None for a job that ended by itself.

    A checkpoint signal (walltime near) and a besteffort kill are both reported ``timeout``:
    the job process stopped on OAR's SIGTERM and a resumable task is started again.
    """
    events = set(row.events)
    if events & {"WALLTIME", "CHECKPOINT", "CHECKPOINT_SUCCESSFULL", "BESTEFFORT_KILL"}:
        return "timeout"
    if "FRAG_JOB_REQUEST" in events or "SEND_KILL_JOB" in events:
        return "cancelled"
    if row.state == "Error":
        return "error: " + (row.message or "OAR set the job in Error")
    return None


def state_of(row: JobRow) -> ProcessState:
    """What xpm makes of an oarstat record."""
    if row.state in _QUEUED:
        return ProcessState(ProcessStatus.QUEUED)
    if row.state in _RUNNING:
        return ProcessState(ProcessStatus.RUNNING)
    if row.state in _ENDED:
        failure = failure_of(row)
        code = exit_code(row.wait_status)
        if row.state == "Terminated" and failure is None and code is None:
            failure = "failed"
        return ProcessState(ProcessStatus.FINISHED, exit_code=code, failure=failure)
    # toError, or a state this version does not know: ask again at the next round.
    return ProcessState(ProcessStatus.UNKNOWN)
