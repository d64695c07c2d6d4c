"""xpm-tui's entry module: declares the ``tui`` monitor (Textual is imported only when it opens)."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin import MonitorType, hookimpl


@hookimpl
def xpm_monitors() -> Iterator[MonitorType]:
    yield MonitorType(
        name="tui",
        factory="xpm_tui.monitor:TuiMonitor",
        summary="Browse experiments, jobs and logs in an interactive terminal UI; kill and clean jobs",
    )
