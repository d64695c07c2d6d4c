"""The ``direct`` launcher: each job is a process started through the connector, at most N at once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Sequence

import attrs

from xpm_core.launcher import (
    JobLaunch,
    Launcher,
    ProcessRef,
    ProcessState,
    ProcessStatus,
    default_max_running,
)

if TYPE_CHECKING:
    from xpm_core.connector import Connector


@attrs.define
class DirectSettings:
    """Settings of the direct launcher (``launchers: direct:`` in settings.yaml)."""

    max_running: int | None = attrs.field(
        default=None, metadata={"help": "Jobs running at once (default: the number of CPU cores)"}
    )


class DirectLauncher(Launcher):
    """Runs each job as a detached process of the connector's host."""

    name = "direct"
    poll_interval = 0.05  # a poll is a few system calls; a short interval frees slots sooner

    def __init__(self, connector: Connector | None = None, *, max_running: int | None = None) -> None:
        super().__init__(connector)
        if max_running is not None and max_running < 1:
            raise ValueError(f"max_running must be at least 1, not {max_running}")
        self._max_running = max_running or default_max_running()

    @property
    def max_running(self) -> int:
        return self._max_running

    def __repr__(self) -> str:
        return f"DirectLauncher({self.connector!r}, max_running={self._max_running})"

    async def submit(self, launch: JobLaunch) -> ProcessRef:
        pid, start = await asyncio.to_thread(
            self.connector.spawn,
            launch.command,
            cwd=launch.directory,
            env={**self.environ, **launch.env},
            stdout=launch.stdout,
            stderr=launch.stderr,
        )
        return self.process_ref(launch, str(pid), start=start)

    async def poll(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        def query() -> dict[str, ProcessState]:
            states = {}
            for ref in refs:
                info = self.connector.process_info(int(ref.id), ref.details.get("start"))
                status = ProcessStatus.RUNNING if info.running else ProcessStatus.FINISHED
                states[ref.id] = ProcessState(status, exit_code=info.exit_code)
            return states

        return await asyncio.to_thread(query)

    async def cancel(self, ref: ProcessRef) -> None:
        await asyncio.to_thread(self.connector.kill, int(ref.id))
