"""Noticing job ends no driver reports: a watch on the folders of running jobs for their markers.

A job can end while no driver runs (a Slurm job after its driver died): only its ``NAME.done`` /
``NAME.failed`` say so. Listings re-check markers anyway (``index.markers``), but a long-lived
monitor that waits for the index to change would wait forever. :class:`JobEndWatcher` watches
the folders of the jobs the index calls scheduled or running and records the ends it sees in the
index, so that the index's change token moves and every view refreshes.

Linux's inotify (through ctypes: no dependency) tells at once; elsewhere, and on network file
systems where another machine writes the markers (inotify only sees local writes), the folders
are polled every ``interval`` seconds. ``XPM_WATCHER`` (``auto``, ``inotify``, ``polling``) and
``XPM_POLLING_INTERVAL`` (seconds) choose.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import struct
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional

if TYPE_CHECKING:
    from xpm_core.workspace.index import WorkspaceIndex

logger = logging.getLogger("xpm_core.workspace.watcher")

WATCHER_ENV = "XPM_WATCHER"
INTERVAL_ENV = "XPM_POLLING_INTERVAL"
MODES = ("auto", "inotify", "polling")
DEFAULT_INTERVAL = 1.0
#: Seconds between two reads of which jobs to watch (a driver may launch new ones meanwhile).
RESCAN_SECONDS = 5.0

# inotify(7)
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_Q_OVERFLOW = 0x4000
_WATCH_MASK = _IN_CREATE | _IN_MOVED_TO | _IN_DELETE | _IN_DELETE_SELF
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then the name, padded)


def _marker_names(name: str) -> tuple[str, str, str]:
    return f"{name}.done", f"{name}.failed", f"{name}.pid"


class _Inotify:
    """The few inotify calls needed, through the C library."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library is loaded already (no find_library: it forks)
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._remove = libc.inotify_rm_watch
        self._remove.argtypes = (ctypes.c_int, ctypes.c_int)
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.fd = fd

    def add(self, folder: str) -> int:
        wd = self._add(self.fd, os.fsencode(folder), _WATCH_MASK)
        if wd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), folder)
        return int(wd)

    def remove(self, wd: int) -> None:
        self._remove(self.fd, wd)

    def read(self) -> list[tuple[int, int, str]]:
        """(wd, mask, name) of the events waiting (none: an empty list)."""
        try:
            data = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return []
        events, offset = [], 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            offset += _EVENT.size
            name = data[offset:offset + length].rstrip(b"\0").decode(errors="replace")
            offset += length
            events.append((wd, mask, name))
        return events

    def close(self) -> None:
        os.close(self.fd)


def inotify_available() -> bool:
    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "inotify_init1")


class MarkerWatcher:
    """Watches job folders for their ``NAME.done`` / ``NAME.failed`` appearing or ``NAME.pid`` going.

    ``watch({folder: NAME})`` says which folders; ``changes(timeout)`` returns the folders where
    that happened since the last call (waiting up to ``timeout`` seconds for one).
    """

    def __init__(self, *, mode: Optional[str] = None, interval: Optional[float] = None,
                 workspace: Optional[Path] = None) -> None:
        mode = (mode or os.environ.get(WATCHER_ENV) or "auto").strip().lower()
        if mode not in MODES:
            raise ValueError(f"unknown watcher {mode!r}: use one of {', '.join(MODES)} ({WATCHER_ENV})")
        self.interval = interval if interval is not None else _interval_from_environment()
        self._inotify: Optional[_Inotify] = None
        if mode != "polling" and inotify_available():
            if mode == "inotify" or workspace is None or not _on_network_filesystem(workspace):
                with contextlib.suppress(OSError):
                    self._inotify = _Inotify()
        if mode == "inotify" and self._inotify is None:
            logger.warning("inotify is not available here: polling every %.1f s instead", self.interval)
        self._folders: dict[str, str] = {}  # folder -> NAME
        self._watches: dict[int, str] = {}  # inotify wd -> folder
        self._polled: dict[str, tuple[bool, bool, bool]] = {}  # folders polled -> markers seen
        self._last_poll = 0.0

    @property
    def mode(self) -> str:
        """"inotify" or "polling": what this watcher really does."""
        return "inotify" if self._inotify is not None else "polling"

    def watch(self, folders: Mapping[str, str]) -> None:
        """Watch exactly ``folders`` (folder -> the job's NAME) from now on."""
        wanted = {str(folder): name for folder, name in folders.items()}
        for wd, folder in list(self._watches.items()):
            if folder not in wanted:
                assert self._inotify is not None
                self._inotify.remove(wd)
                del self._watches[wd]
        for folder in list(self._polled):
            if folder not in wanted:
                del self._polled[folder]
        watched = set(self._watches.values())
        for folder, name in wanted.items():
            if folder in watched or folder in self._polled:
                continue
            if self._inotify is not None:
                try:
                    self._watches[self._inotify.add(folder)] = folder
                    continue
                except OSError as error:  # gone already, or too many watches: poll this one
                    logger.debug("cannot watch %s with inotify (%s): polling it", folder, error)
            self._polled[folder] = self._snapshot(folder, name)
        self._folders = wanted

    @staticmethod
    def _snapshot(folder: str, name: str) -> tuple[bool, bool, bool]:
        return tuple(os.path.exists(os.path.join(folder, marker)) for marker in _marker_names(name))  # type: ignore[return-value]

    def changes(self, timeout: float = 0.0) -> set[str]:
        """Folders whose markers changed since the last call, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._read_inotify() | self._poll()
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return found
            self._wait(remaining)

    def _wait(self, seconds: float) -> None:
        if self._polled or self._inotify is None:
            seconds = min(seconds, max(self.interval - (time.monotonic() - self._last_poll), 0.01))
        if self._inotify is not None:
            select.select([self._inotify.fd], [], [], seconds)
        else:
            time.sleep(seconds)

    def _read_inotify(self) -> set[str]:
        if self._inotify is None:
            return set()
        found = set()
        for wd, mask, name in self._inotify.read():
            if mask & _IN_Q_OVERFLOW:
                return set(self._watches.values())  # events were lost: check every folder
            folder = self._watches.get(wd)
            if folder is None:
                continue
            if mask & _IN_DELETE_SELF or name in _marker_names(self._folders.get(folder, "")):
                found.add(folder)
        return found

    def _poll(self) -> set[str]:
        if not self._polled or time.monotonic() - self._last_poll < self.interval:
            return set()
        self._last_poll = time.monotonic()
        found = set()
        for folder, seen in self._polled.items():
            now = self._snapshot(folder, self._folders[folder])
            if now != seen:
                self._polled[folder] = now
                found.add(folder)
        return found

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._watches.clear()


def _interval_from_environment() -> float:
    try:
        value = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL))
    except ValueError:
        logger.warning("%s must be a number of seconds: using %.1f", INTERVAL_ENV, DEFAULT_INTERVAL)
        return DEFAULT_INTERVAL
    return max(value, 0.05)


def _on_network_filesystem(path: Path) -> bool:
    from xpm_core.workspace.index.connection import on_network_filesystem

    return on_network_filesystem(path)


class JobEndWatcher:
    """Records in the index the ends of the jobs it watches (those it calls scheduled or running).

    A monitor calls :meth:`check` before it asks whether the index changed (``change_token``):
    a job that ended while no driver runs is then recorded, and the change seen.
    """

    def __init__(self, workspace: Path, *, mode: Optional[str] = None, interval: Optional[float] = None) -> None:
        self.workspace = Path(workspace)
        self.markers = MarkerWatcher(mode=mode, interval=interval, workspace=self.workspace)
        self._jobs: dict[str, tuple[str, str]] = {}  # folder -> (job id, task id)
        self._scanned = -RESCAN_SECONDS

    def check(self, index: WorkspaceIndex, timeout: float = 0.0) -> list[str]:
        """Record the ends seen since the last call (waiting up to ``timeout``); their job ids."""
        if time.monotonic() - self._scanned >= RESCAN_SECONDS:
            self._rescan(index)
        ended = []
        for folder in self.markers.changes(timeout):
            job = self._jobs.get(folder)
            if job is not None and self._record(index, Path(folder), *job):
                ended.append(job[0])
        if ended:
            self._rescan(index)
        return ended

    def _rescan(self, index: WorkspaceIndex) -> None:
        from xpm_core.plugin.job_state import JobState
        from xpm_core.workspace.disk import task_name
        from xpm_core.workspace.index.paths import folder_prefix, full_path

        self._scanned = time.monotonic()
        prefix = folder_prefix(self.workspace)
        rows = index.execute("SELECT job_id, task_id, path FROM jobs WHERE state IN (?, ?)",
                             (JobState.SCHEDULED.value, JobState.RUNNING.value))
        self._jobs = {full_path(prefix, path): (job_id, task_id) for job_id, task_id, path in rows}
        self.markers.watch({folder: task_name(task_id) for folder, (_, task_id) in self._jobs.items()})
        # A marker written before the watch began is seen now, not at its creation.
        for folder, (job_id, task_id) in list(self._jobs.items()):
            self._record(index, Path(folder), job_id, task_id)

    @staticmethod
    def _record(index: WorkspaceIndex, folder: Path, job_id: str, task_id: str) -> bool:
        from xpm_core.workspace import disk
        from xpm_core.workspace.reconcile import conclude_if_gone, record_marker

        marker = disk.read_final_marker(folder, task_id) or conclude_if_gone(folder, task_id)
        if marker is None:
            return False
        record_marker(index, job_id, marker)
        return True

    def close(self) -> None:
        self.markers.close()
