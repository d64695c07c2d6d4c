"""xpm-web's entry module: declares the ``web`` monitor (flask and waitress load only when it starts)."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin import MonitorType, hookimpl


@hookimpl
def xpm_monitors() -> Iterator[MonitorType]:
    yield MonitorType(
        name="web",
        factory="xpm_web.monitor:WebMonitor",
        summary="Follow, explore and control experiments in a browser (serves a local web page)",
    )
