"""Partial directories shared by jobs: the job folder's links to them and their write locks.

A job whose task has a ``PathGenerator(..., partial=...)`` writes into a directory shared with
every job of the same partial identifier (``WS/partials/<task id>/<name>/<identifier>``). Its
folder links to it as ``.experimaestro/partials/<name>``, and the job process holds
``<identifier>.lock`` (next to the directory) while it runs, so that two jobs never write one
partial directory at once. Locks are taken in sorted path order: two jobs sharing several
partial directories cannot deadlock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Iterator

from xpm_core.lock_permissions import open_lock_file

logger = logging.getLogger("xpm.job")

#: where a job folder links to its partial directories
PARTIALS_LINKS = Path(".experimaestro") / "partials"


def partial_directories(job_dir: Path) -> list[Path]:
    """The partial directories a job folder links to, sorted (the lock order)."""
    links = job_dir / PARTIALS_LINKS
    if not links.is_dir():
        return []
    return sorted({link.resolve() for link in links.iterdir() if link.is_symlink()})


def lock_path(partial: Path) -> Path:
    """The lock file of a partial directory (outside it: the directory holds only the task's data)."""
    return partial.with_name(partial.name + ".lock")


@contextlib.contextmanager
def partial_locks(job_dir: Path) -> Iterator[None]:
    """Hold the write locks of the job's partial directories (blocking until each is free)."""
    descriptors = []
    try:
        for partial in partial_directories(job_dir):
            fd = open_lock_file(lock_path(partial))
            descriptors.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("waiting for partial directory %s (another job writes it)", partial)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in descriptors:
            os.close(fd)  # releases the lock
