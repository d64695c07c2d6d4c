"""Batch scripts: each job's ``NAME.sh`` and the dispatcher that runs an array's tasks in their folders."""

from __future__ import annotations

import shlex
from typing import Mapping, Sequence

from xpm_core.plugin import JobLaunch

#: Set in every job's environment: the ``module:attr`` of the function that tells a running
#: task how many seconds it has left (see ``xpm_slurm.remaining``).
REMAINING_TIME_ENV = "XPM_REMAINING_TIME"
REMAINING_TIME_PROVIDER = "xpm_slurm.remaining:remaining_time"


def job_script(
    launch: JobLaunch,
    *,
    job_name: str,
    sbatch_arguments: Sequence[str],
    environ: Mapping[str, str],
) -> str:
    """The content of ``NAME.sh``: ``#SBATCH`` directives, the environment, then the command.

    The same file serves a lone job (``sbatch NAME.sh``) and an array task (the dispatcher runs
    it with ``sh``, where the directives are plain comments), so a user can resubmit any job by
    hand.
    """
    directives = [
        f"--job-name={job_name}",
        f"--chdir={launch.directory}",
        f"--output={launch.name}.out",
        f"--error={launch.name}.err",
        # Append: a resumed task (after a time-out) keeps the log of its earlier attempts.
        "--open-mode=append",
        *sbatch_arguments,
    ]
    lines = ["#!/bin/sh", "# Written by xpm-slurm: submitted with 'sbatch --parsable' (or run by an array)."]
    lines += [f"#SBATCH {shlex.quote(directive)}" for directive in directives]
    lines.append("")
    variables = {**environ, **launch.env, REMAINING_TIME_ENV: REMAINING_TIME_PROVIDER}
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    lines.append(f"cd {shlex.quote(str(launch.directory))} || exit 1")
    # exec: the job's exit code is the command's, which sacct then reports.
    lines.append("exec " + " ".join(shlex.quote(part) for part in launch.command))
    return "\n".join(lines) + "\n"


def script_path(launch: JobLaunch) -> str:
    """Where a job's ``NAME.sh`` is written."""
    return str(launch.directory / f"{launch.name}.sh")


def array_script(
    launches: Sequence[JobLaunch],
    *,
    job_name: str,
    sbatch_arguments: Sequence[str],
    array_range: str,
) -> str:
    """The script of one job array whose task ``i`` runs ``launches[i]``'s ``NAME.sh``.

    The array's own output goes nowhere: each task first redirects its output to its job's
    ``NAME.out`` / ``NAME.err``, then runs that job's script in that job's folder.
    """
    directives = [
        f"--job-name={job_name}",
        f"--array={array_range}",
        f"--chdir={launches[0].directory}",
        "--output=/dev/null",
        "--error=/dev/null",
        *sbatch_arguments,
    ]
    lines = ["#!/bin/sh", "# Written by xpm-slurm: one array task per xpm job."]
    lines += [f"#SBATCH {shlex.quote(directive)}" for directive in directives]
    lines += ["", 'case "$SLURM_ARRAY_TASK_ID" in']
    for index, launch in enumerate(launches):
        out = shlex.quote(str(launch.stdout))
        err = shlex.quote(str(launch.stderr))
        script = shlex.quote(script_path(launch))
        lines.append(f"{index}) exec >>{out} 2>>{err}; exec /bin/sh {script} ;;")
    lines.append('*) echo "xpm-slurm: no job for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;')
    lines.append("esac")
    return "\n".join(lines) + "\n"
