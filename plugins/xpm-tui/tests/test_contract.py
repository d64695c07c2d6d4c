"""xpm-tui against the core's contracts: the package, and the monitor (headless, as a terminal is not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from xpm_core.plugin import Monitor
from xpm_core.testing import MonitorContract, PluginPackageContract


class TestTuiPackage(PluginPackageContract):
    distribution = "xpm-tui"


class TestTuiMonitor(MonitorContract):
    """The TUI runs headless (no terminal under pytest); what it shows is its jobs table."""

    monitor_name = "tui"

    def monitor_options(self, tmp_path: Path) -> Mapping[str, Any]:
        return {"headless": True}

    def shown_states(self, monitor: Monitor) -> Mapping[str, str]:
        from xpm_tui.monitor import TuiMonitor

        assert isinstance(monitor, TuiMonitor)
        return monitor.shown_jobs()
