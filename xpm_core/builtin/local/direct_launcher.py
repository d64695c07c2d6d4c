"""The ``direct`` launcher: each job is a process started through the connector, at most N at once."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Callable, ClassVar, Mapping, Sequence

import attrs

from xpm_core.plugin.launcher import (
    JobLaunch,
    Launcher,
    ProcessRef,
    ProcessState,
    ProcessStatus,
    default_max_running,
)

if TYPE_CHECKING:
    from xpm_core.plugin.connector import Connector


@attrs.define
class DirectSettings:
    """Settings of the direct launcher (``launchers: direct:`` in settings.yaml)."""

    max_running: int | None = attrs.field(
        default=None, metadata={"help": "Jobs running at once (default: the number of CPU cores)"}
    )


class DirectLauncher(Launcher):
    """Runs each job as a detached process of the connector's host."""

    name = "direct"
    #: Bounds of the interval between two polls. A poll costs a few system calls (exit codes of
    #: forked jobs are already known), so a young job is polled often: a trivial job ends
    #: within milliseconds and its slot goes to the next job at once. Jobs that have run
    #: longer are polled less, down to the slowest rate (what ending a minute-long job a
    #: few tens of milliseconds late costs is negligible).
    min_poll_interval = 0.005
    max_poll_interval = 0.05
    # When each job started by a direct launcher of this process, and not yet seen ended, was
    # started (time.monotonic()), by pid. Shared by all instances: jobs of several launcher
    # objects are followed by one poller, which asks the first of them for the interval.
    _started: ClassVar[dict[str, float]] = {}
    # Those of them whose end the connector reports (forked by the fork server): the poller is
    # woken at their end, so they need no frequent polling.
    _reported: ClassVar[set[str]] = set()

    def __init__(self, connector: Connector | None = None, *, max_running: int | None = None) -> None:
        super().__init__(connector)
        if max_running is not None and max_running < 1:
            raise ValueError(f"max_running must be at least 1, not {max_running}")
        self._max_running = max_running or default_max_running()

    @property
    def poll_interval(self) -> float:  # type: ignore[override]
        """Seconds until the next poll: a tenth of the youngest running job's age, within bounds
        (jobs whose end the connector reports, which wakes the poller, do not count)."""
        polled = [started for pid, started in self._started.items() if pid not in self._reported]
        if not polled:
            return self.max_poll_interval
        age = time.monotonic() - max(polled)
        return min(self.max_poll_interval, max(self.min_poll_interval, age / 10))

    @property
    def max_running(self) -> int:
        return self._max_running

    def __repr__(self) -> str:
        return f"DirectLauncher({self.connector!r}, max_running={self._max_running})"

    def warm_up(self) -> None:
        """A job is about to be submitted: let the connector get ready to start it (the local
        one starts its fork server) while the job's configuration is sealed and its folder written."""
        warm_up = getattr(self.connector, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def on_process_end(self, listener: Callable[[], None]) -> bool:
        """Have ``listener()`` called (from any thread) when the connector learns that one of its
        processes ended; ``False`` when it cannot tell (the poller then only polls)."""
        subscribe = getattr(self.connector, "on_process_end", None)
        return bool(subscribe(listener)) if subscribe is not None else False

    async def submit(self, launch: JobLaunch) -> ProcessRef:
        pid, start = await asyncio.to_thread(
            self.connector.spawn,
            launch.command,
            cwd=launch.directory,
            env={**self.environ, **launch.env},
            stdout=launch.stdout,
            stderr=launch.stderr,
        )
        self._started[str(pid)] = time.monotonic()
        reports_end = getattr(self.connector, "reports_end", None)
        if reports_end is not None and reports_end(pid, start):
            self._reported.add(str(pid))
        return self.process_ref(launch, str(pid), start=start)

    async def poll(
        self, refs: Sequence[ProcessRef], files: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, ProcessState]:
        """The state of each job; with ``files`` (by ``ref.id``), also those files of the jobs
        seen ended, read in the same question to the connector (one round trip over SSH)."""

        def query() -> dict[str, ProcessState]:
            processes = [(int(ref.id), ref.details.get("start")) for ref in refs]
            try:
                # One question for all the jobs: a remote host answers in one round trip.
                if files:
                    infos = self.connector.processes_and_files(
                        processes, {int(ref_id): paths for ref_id, paths in files.items()}
                    )
                else:
                    infos = self.connector.processes_info(processes)
            except ConnectionError:
                # The host cannot be reached now (SSH connection down): unknown, never failed.
                return {ref.id: ProcessState(ProcessStatus.UNKNOWN) for ref in refs}
            states = {}
            for ref in refs:
                info = infos.get(int(ref.id))
                if info is None:
                    states[ref.id] = ProcessState(ProcessStatus.UNKNOWN)
                    continue
                status = ProcessStatus.RUNNING if info.running else ProcessStatus.FINISHED
                states[ref.id] = ProcessState(status, exit_code=info.exit_code, files=info.files)
            return states

        states = await asyncio.to_thread(query)
        for ref_id, state in states.items():  # here, in the loop's thread, as poll_interval reads
            if state.status is ProcessStatus.FINISHED:
                self._started.pop(ref_id, None)
                self._reported.discard(ref_id)
        return states

    async def cancel(self, ref: ProcessRef) -> None:
        await asyncio.to_thread(self.connector.kill, int(ref.id))
