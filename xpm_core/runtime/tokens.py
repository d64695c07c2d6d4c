"""Counter tokens: a resource of N units (GPUs, licences) shared by every driver of a workspace.

A token lives in ``WS/.xpm/tokens/<name>/``: ``total.json`` (the number of units, as last
declared), ``ipc.lock`` (taken while counting) and one ``holders/<job id>.json`` per job holding
units. A holder whose driver died and whose job no longer runs is stale and does not count.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from xpm_core.runtime.job import Job


@attrs.frozen
class TokenDependency:
    """``count`` units of ``token``, needed by a task while its job runs."""

    token: CounterToken
    count: int


def _process_alive(pid: int, start: str | None) -> bool:
    from xpm_core.local_host import process_alive

    return process_alive(pid, start)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def holder_is_stale(holder: dict[str, Any]) -> bool:
    """Whether a ``holders/<job id>.json`` holder is left by a driver and a job both gone
    (checkable only for a driver of this host)."""
    host, pid, start = holder.get("driver", [None, None, None])
    if host == socket.gethostname() and pid is not None and _process_alive(pid, start):
        return False
    if host != socket.gethostname():
        return False  # a driver elsewhere: nothing here can tell it is gone
    process = _read_json(Path(holder["job"]) / f"{holder['name']}.pid")
    if isinstance(process, dict) and process.get("type") in ("direct", "local"):
        return not _process_alive(int(process["pid"]), process.get("start"))
    return not isinstance(process, dict)


@attrs.frozen
class StaleHolder:
    """Units of a token still recorded for a job whose driver and process have ended."""

    token: str
    path: Path  # the holders/<job id>.json file
    job: str  # the job folder
    count: int
    driver: str  # "host HOST, pid PID"


def stale_holders(tokens_dir: Path) -> list[StaleHolder]:
    """The stale holders of every token under ``tokens_dir`` (``WS/.xpm/tokens``), read without locking."""
    found = []
    for path in sorted(tokens_dir.glob("*/holders/*.json")):
        holder = _read_json(path)
        if not isinstance(holder, dict) or "job" not in holder or "name" not in holder:
            continue
        try:
            stale = holder_is_stale(holder)
        except (TypeError, ValueError):
            continue
        if stale:
            host, pid, _ = (list(holder.get("driver") or []) + [None] * 3)[:3]
            found.append(StaleHolder(token=path.parent.parent.name, path=path, job=str(holder["job"]),
                                     count=int(holder.get("count", 0)), driver=f"host {host}, pid {pid}"))
    return found


def remove_stale_holder(holder: StaleHolder) -> bool:
    """Remove a stale holder under its token's lock, if it is still stale; whether it was removed."""
    from xpm_core.local_host import file_lock

    with file_lock(holder.path.parent.parent / "ipc.lock"):
        content = _read_json(holder.path)
        if not isinstance(content, dict) or not holder_is_stale(content):
            return False
        holder.path.unlink(missing_ok=True)
        return True


class CounterToken:
    """At most ``total`` units held at once, across the drivers sharing the workspace."""

    def __init__(self, name: str, path: Path, total: int) -> None:
        if total < 1:
            raise ValueError(f"token {name!r} needs at least 1 unit, not {total}")
        self.name = name
        self.path = path
        self.total = total
        (path / "holders").mkdir(parents=True, exist_ok=True)
        with self._lock():
            (path / "total.json").write_text(json.dumps({"total": total}))

    def __repr__(self) -> str:
        return f"CounterToken({self.name!r}, total={self.total})"

    def dependency(self, count: int) -> TokenDependency:
        """What ``task.add_dependencies(...)`` takes: ``count`` units while the task runs."""
        if not 1 <= count <= self.total:
            raise ValueError(f"token {self.name!r} has {self.total} unit(s): cannot take {count}")
        return TokenDependency(self, count)

    def __call__(self, count: int, task: Any) -> Any:
        """``token(1, Train.C(...))``: the task holds ``count`` units while it runs."""
        task.add_dependencies(self.dependency(count))
        return task

    def _lock(self):
        from xpm_core.local_host import file_lock

        return file_lock(self.path / "ipc.lock")

    def _holder(self, job: Job) -> Path:
        return self.path / "holders" / f"{job.identifier}.json"

    def _stale(self, holder: dict[str, Any]) -> bool:
        return holder_is_stale(holder)

    def used(self) -> int:
        """Units held now (stale holders removed on the way); call under the token's lock."""
        used = 0
        for path in (self.path / "holders").glob("*.json"):
            holder = _read_json(path)
            if not isinstance(holder, dict) or self._stale(holder):
                path.unlink(missing_ok=True)
                continue
            used += int(holder.get("count", 0))
        return used

    def try_acquire(self, job: Job, count: int) -> bool:
        """Take ``count`` units for ``job`` if they are free."""
        from xpm_core.local_host import process_start_stamp

        with self._lock():
            if self._holder(job).exists():
                return True  # taken earlier (e.g. by a driver that died): still ours
            total = (_read_json(self.path / "total.json") or {}).get("total", self.total)
            if self.used() + count > total:
                return False
            holder = {
                "count": count,
                "job": str(job.path),
                "name": job.name,
                "driver": [socket.gethostname(), os.getpid(), process_start_stamp(os.getpid())],
            }
            self._holder(job).write_text(json.dumps(holder))
            return True

    def release(self, job: Job) -> None:
        """Give back the units ``job`` holds (nothing happens if it holds none)."""
        with self._lock():
            self._holder(job).unlink(missing_ok=True)


def token_dependencies(job: Job) -> list[TokenDependency]:
    """The token units ``job``'s task asked for, in a fixed order (so drivers never deadlock)."""
    found = [dep for dep in job.config.__xpm__.dependencies if isinstance(dep, TokenDependency)]
    return sorted(found, key=lambda dep: dep.token.name)
