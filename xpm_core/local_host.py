"""The machine the driver runs on: file locks and process probes for the driver's own bookkeeping.

The experiment lock, tokens and the index live in the workspace and are guarded from the
driver's machine whatever connector runs the jobs, so they use these helpers rather than a
connector. The built-in local connector is written on top of them. Standard library only:
job processes and the fork server import this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator, Union

from xpm_core.lock_permissions import open_lock_file

#: Seconds between two attempts to take a lock held by someone else (with a timeout).
LOCK_POLL_SECONDS = 0.05


@contextlib.contextmanager
def file_lock(path: Union[str, os.PathLike], *, timeout: float | None = None) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed), released when the holder dies.

    :raises TimeoutError: when it cannot be taken within ``timeout`` seconds (``None`` waits
        forever, ``0`` tries once).
    """
    fd = open_lock_file(path)  # with the workspace's lock_mode (shared group workspaces)
    try:
        _acquire(fd, path, timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Union[str, os.PathLike], timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the lock {path} is held by another process") from None
            time.sleep(LOCK_POLL_SECONDS)


def process_start_stamp(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux), to detect pid reuse."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            stat = stream.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19]  # field 22 of proc(5), "starttime"


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended but not been reaped (its parent died where init does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def process_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``start`` (when known)."""
    if Path("/proc/self").exists():
        stamp = process_start_stamp(pid)
        # Another process may have been given the pid since: compare start stamps.
        return stamp is not None and (start is None or stamp == start) and not _zombie(pid)
    try:
        os.kill(pid, 0)  # without /proc (macOS) only existence can be checked
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return True
