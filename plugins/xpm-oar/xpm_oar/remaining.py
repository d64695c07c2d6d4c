"""Inside a running OAR job: how many seconds are left before its walltime (for ResumableTask)."""

from __future__ import annotations

import os
import time

_STARTED_ENV = "XPM_OAR_STARTED"


def remaining_time() -> float | None:
    """Seconds left before this OAR job reaches its walltime; ``None`` outside OAR.

    xpm-oar sets ``XPM_REMAINING_TIME=xpm_oar.remaining:remaining_time`` in every job's
    environment, so the task runtime finds this function without knowing about OAR. OAR gives
    the walltime (``OAR_JOB_WALLTIME_SECONDS``); the job's script records when it started
    (``XPM_OAR_STARTED``), a second or so after OAR's own start: no OAR command is needed.
    """
    try:
        walltime = float(os.environ["OAR_JOB_WALLTIME_SECONDS"])
        started = float(os.environ[_STARTED_ENV])
    except (KeyError, ValueError):
        return None
    if walltime <= 0:
        return None
    return max(0.0, walltime - (time.time() - started))
