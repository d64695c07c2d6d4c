"""Built-in plugin contributing the core's monitors: the ``console`` view of an experiment's jobs."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin.components import MonitorType
from xpm_core.plugin.hookspecs import hookimpl


@hookimpl
def xpm_monitors() -> Iterator[MonitorType]:
    yield MonitorType(
        name="console",
        factory="xpm_core.builtin.console.monitor:ConsoleMonitor",
        summary="Follow an experiment's jobs in the terminal",
    )
