"""Inside a running Slurm job: how many seconds are left before its time limit (for ResumableTask)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

_DURATION = re.compile(r"^(?:(?P<days>\d+)-)?(?:(?:(?P<hours>\d+):)?(?P<minutes>\d+):)?(?P<seconds>\d+)$")
_NO_LIMIT = {"UNLIMITED", "NOT_SET", "INVALID", "N/A", ""}

# The end time is asked once per process and kept as a monotonic deadline: squeue is a call
# to slurmctld, and a task may ask at every iteration of its training loop.
_deadline: float | None = None
_asked = False


def parse_duration(text: str) -> float | None:
    """squeue's ``%L``: ``D-HH:MM:SS``, ``HH:MM:SS``, ``MM:SS`` or ``SS``; ``None`` for no limit."""
    text = text.strip()
    if text.upper() in _NO_LIMIT:
        return None
    match = _DURATION.match(text)
    if match is None:
        return None
    parts = {key: int(value or 0) for key, value in match.groupdict().items()}
    return float(parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"])


def remaining_time() -> float | None:
    """Seconds left before this Slurm job reaches its time limit; ``None`` outside Slurm or unlimited.

    xpm-slurm sets ``XPM_REMAINING_TIME=xpm_slurm.remaining:remaining_time`` in every job's
    environment, so the task runtime can find this function without knowing about Slurm.
    """
    global _deadline, _asked
    if not _asked:
        _asked = True
        job_id = os.environ.get("SLURM_JOB_ID")
        squeue = shutil.which("squeue")
        if job_id and squeue:
            result = subprocess.run(
                [squeue, "--noheader", f"--job={job_id}", "--format=%L"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            left = parse_duration(result.stdout) if result.returncode == 0 else None
            if left is not None:
                _deadline = time.monotonic() + left
    if _deadline is None:
        return None
    return max(0.0, _deadline - time.monotonic())
