"""The workspace's warnings on the experiments screen, driven with Textual's pilot: a stale token
holder appears (the banner shows it with its fix) and the shown fix, run for real, removes it."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tui_support import settle

from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.experiments import ExperimentsScreen


def write_stale_holder(workspace: Path) -> str:
    """A unit of the token ``gpu`` held for a job whose driver and process have ended; its job id."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    job_id = "b" * 64
    job = workspace / "jobs" / "pkg.Train" / job_id  # no pid file: its process ended too
    holders = workspace / ".xpm" / "tokens" / "gpu" / "holders"
    holders.mkdir(parents=True)
    (holders / f"{job_id}.json").write_text(json.dumps(
        {"count": 1, "job": str(job), "name": "Train", "driver": [socket.gethostname(), int(ended.stdout), None]}))
    return job_id


def banner(screen: ExperimentsScreen) -> str:
    widget = screen.query_one("#warnings")
    return str(widget.render()) if widget.display else ""


def test_warnings_show_with_their_fix_and_go_when_fixed(own_grid_workspace: Path) -> None:
    workspace = own_grid_workspace
    monitor = TuiMonitor(workspace, headless=True)

    async def scenario(pilot: Any) -> None:
        screen = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ExperimentsScreen)
                              and pilot.app.screen, "the experiments")
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "the experiment")
        assert banner(screen) == ""

        job_id = write_stale_holder(workspace)  # no index write: the screen reads warnings on its own
        text = await settle(pilot.pause, lambda: banner(screen), "the warning")
        assert f"token 'gpu': 1 unit(s) still held for job pkg.Train/{job_id}" in text
        fix = f"xpm cleanup --workdir {workspace}"
        assert f"Fix: {fix}" in text

        result = subprocess.run([sys.executable, "-m", "xpm_core", *shlex.split(fix)[1:]],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        await settle(pilot.pause, lambda: banner(screen) == "", "the warning to go")

    async def play() -> None:
        async with monitor.app.run_test(size=(150, 40)) as pilot:
            monitor.follow()
            await scenario(pilot)

    try:
        asyncio.run(play())
    finally:
        monitor.close()
