"""Which process of a multi-process job this is: only rank 0 acts for the job (locks, markers, progress).

Distributed launchers (``srun``, ``torchrun``, ...) start the job's ``NAME.py`` once per process and
set ``SLURM_PROCID``, ``RANK`` or ``LOCAL_RANK``; the other ranks just run the task.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

RANK_VARIABLES = ("SLURM_PROCID", "RANK", "LOCAL_RANK")


def process_rank(environ: Optional[Mapping[str, str]] = None) -> int:
    """The highest rank the environment gives (0 when none is set or readable)."""
    environ = os.environ if environ is None else environ
    rank = 0
    for name in RANK_VARIABLES:
        try:
            rank = max(rank, int(environ.get(name, "0")))
        except ValueError:  # an unreadable value says nothing about the rank
            continue
    return rank


def is_main_process(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether this process acts for the job: rank 0, or no rank at all."""
    return process_rank(environ) == 0
