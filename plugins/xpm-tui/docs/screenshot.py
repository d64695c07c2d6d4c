"""Regenerate docs/jobs.svg, the README's screenshot: the jobs screen of a small real experiment.

Run:  python plugins/xpm-tui/docs/screenshot.py   (writes plugins/xpm-tui/docs/jobs.svg)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from tui_support import run_driver  # noqa: E402


async def shoot(workspace: Path, target: Path) -> None:
    from xpm_tui.monitor import TuiMonitor
    from xpm_tui.screens.jobs import JobsScreen

    monitor = TuiMonitor(workspace, experiment_id="grid", headless=True)
    try:
        async with monitor.app.run_test(size=(100, 16)) as pilot:
            while not (isinstance(pilot.app.screen, JobsScreen) and pilot.app.screen.table.row_count == 5):
                await pilot.pause(0.05)
            await pilot.press("down")
            await pilot.pause(0.2)
            pilot.app.save_screenshot(filename=target.name, path=str(target.parent))
    finally:
        monitor.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "workspace"
        run_driver(Path(folder), workspace, "grid")
        asyncio.run(shoot(workspace, HERE / "jobs.svg"))
    print(f"wrote {HERE / 'jobs.svg'}")


if __name__ == "__main__":
    main()
