"""Batch scripts: each job's ``NAME.sh`` with ``#OAR`` directives, and the dispatcher of an array."""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import Mapping, Sequence

from xpm_core.plugin import JobLaunch

#: Set in every job's environment: the ``module:attr`` of the function that tells a running
#: task how many seconds it has left (see ``xpm_oar.remaining``).
REMAINING_TIME_ENV = "XPM_REMAINING_TIME"
REMAINING_TIME_PROVIDER = "xpm_oar.remaining:remaining_time"
#: When the job's script started (seconds since the epoch): OAR gives the walltime, not the end.
STARTED_ENV = "XPM_OAR_STARTED"


def _directive(text: str) -> str:
    # oarsub reads "#OAR <option> <rest of the line>": values are not shell-quoted.
    if "\n" in text or "\r" in text:
        raise ValueError(f"an #OAR directive must be on one line, not {text!r}")
    return f"#OAR {text}"


def job_script(
    launch: JobLaunch,
    *,
    job_name: str,
    directives: Sequence[str],
    environ: Mapping[str, str],
) -> str:
    """The content of ``NAME.sh``: ``#OAR`` directives, the environment, then the command.

    The same file serves a lone job (``oarsub -S NAME.sh``) and an array job (the dispatcher runs
    it with ``sh``, where the directives are plain comments), so a user can resubmit any job by
    hand. OAR appends to the output files, so a resumed task keeps the log of earlier attempts.
    """
    lines = ["#!/bin/sh", "# Written by xpm-oar: submitted with 'oarsub -S' (or run by an array)."]
    lines += [
        _directive(text) for text in (f"-n {job_name}", f"-O {launch.stdout}", f"-E {launch.stderr}", *directives)
    ]
    lines.append("")
    lines.append(f'export {STARTED_ENV}="${{{STARTED_ENV}:-$(date +%s)}}"')
    variables = {**environ, **launch.env, REMAINING_TIME_ENV: REMAINING_TIME_PROVIDER}
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    lines.append(f"cd {shlex.quote(str(launch.directory))} || exit 1")
    # exec: OAR's checkpoint signal reaches the job process itself, and the job's exit code is
    # the command's, which oarstat then reports.
    lines.append("exec " + " ".join(shlex.quote(part) for part in launch.command))
    return "\n".join(lines) + "\n"


def script_path(launch: JobLaunch) -> PurePosixPath:
    """Where a job's ``NAME.sh`` is written."""
    return launch.directory / f"{launch.name}.sh"


def array_script_path(launch: JobLaunch) -> PurePosixPath:
    """Where the dispatcher of an array whose first job is ``launch`` is written."""
    return launch.directory / f"{launch.name}.oar-array.sh"


def array_script(launches: Sequence[JobLaunch], *, job_name: str, directives: Sequence[str]) -> str:
    """The script of one OAR array (``--array N``) whose job ``i`` runs ``launches[i - 1]``'s ``NAME.sh``.

    The array's own output goes nowhere: each job first redirects its output to its own
    ``NAME.out`` / ``NAME.err``, then runs its script in its folder.
    """
    lines = ["#!/bin/sh", "# Written by xpm-oar: one OAR array job per xpm job."]
    lines += [
        _directive(text)
        for text in (f"-n {job_name}", f"--array {len(launches)}", "-O /dev/null", "-E /dev/null", *directives)
    ]
    lines += ["", f'export {STARTED_ENV}="$(date +%s)"', 'case "$OAR_ARRAY_INDEX" in']
    for index, launch in enumerate(launches, start=1):
        out = shlex.quote(str(launch.stdout))
        err = shlex.quote(str(launch.stderr))
        script = shlex.quote(str(script_path(launch)))
        lines.append(f"{index}) exec >>{out} 2>>{err}; exec /bin/sh {script} ;;")
    lines.append('*) echo "xpm-oar: no job for array index $OAR_ARRAY_INDEX" >&2; exit 1 ;;')
    lines.append("esac")
    return "\n".join(lines) + "\n"
