"""Live changes and kills, on real drivers running jobs that wait: what a user sees within a second."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from test_screens import column, drive, jobs_shown, on_screen
from tui_support import job_folder, settle, start_driver, wait_until

from xpm_core.plugin import WorkspaceAPI
from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.confirm import ConfirmScreen
from xpm_tui.screens.experiments import ExperimentsScreen
from xpm_tui.screens.jobs import JobsScreen

#: Seconds within which a state change reaches the screen (the issue asks for one second).
LIVE_DELAY = 1.0


def index_state(api: WorkspaceAPI, experiment_id: str) -> str | None:
    try:
        page = api.jobs(experiment_id=experiment_id)
    except LookupError:
        return None
    return page.jobs[0].state if page.jobs else None


async def shown_within(pilot: Any, screen: JobsScreen, api: WorkspaceAPI, experiment_id: str, state: str) -> None:
    """Once the index says ``state``, the table must show it within LIVE_DELAY seconds."""
    await settle(pilot.pause, lambda: index_state(api, experiment_id) == state, f"{state} in the index", 60)
    changed = time.monotonic()
    await settle(pilot.pause, lambda: column(screen.table, "State") == [state.upper()], f"{state} on screen", 10)
    delay = time.monotonic() - changed
    assert delay < LIVE_DELAY, f"{state} took {delay:.2f} s to show"


def test_state_changes_show_within_a_second(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    api = WorkspaceAPI(workspace)

    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await on_screen(pilot, JobsScreen)
        await settle(pilot.pause, lambda: "Waiting for experiment live" in str(screen.query_one("#title").content),
                     "the wait for the experiment")
        driver = start_driver(tmp_path, workspace, "live")
        try:
            await shown_within(pilot, screen, api, "live", "running")
            (job_folder(workspace, "__main__.wait") / "release").touch()
            await shown_within(pilot, screen, api, "live", "done")
            assert driver.wait(60) == 0
        finally:
            driver.kill()

    try:
        drive(workspace, scenario, experiment_id="live")
    finally:
        api.close()


def test_kill_a_job_and_every_running_job_of_a_run(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    drivers = []
    for name in ("wait-a", "wait-b"):
        (tmp_path / name).mkdir()
        drivers.append(start_driver(tmp_path / name, workspace, name))
    try:
        wait_until(lambda: (workspace / "jobs" / "__main__.wait").is_dir()
                   and len(list((workspace / "jobs" / "__main__.wait").iterdir())) == 2, "two waiting jobs")
        with WorkspaceAPI(workspace) as api:
            wait_until(lambda: index_state(api, "wait-a") == "running" and index_state(api, "wait-b") == "running",
                       "both jobs running", 60)

        async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
            experiments = await on_screen(pilot, ExperimentsScreen)
            await settle(pilot.pause, lambda: experiments.table.row_count == 2, "two experiments")
            await pilot.press("enter")  # wait-a, sorted first
            screen = await jobs_shown(pilot, 1)
            assert column(screen.table, "State") == ["RUNNING"]
            # Cleaning a running job is refused, as `xpm jobs clean` refuses it.
            await pilot.press("d")
            await pilot.pause(0.5)
            assert not isinstance(pilot.app.screen, ConfirmScreen)
            assert any("not finished" in str(note.message) for note in pilot.app._notifications)
            # Kill every running job of the run: asked first, then done.
            await pilot.press("K")
            confirm = await on_screen(pilot, ConfirmScreen)
            assert len(confirm.lines) == 1 and confirm.lines[0].startswith("would kill __main__.wait/")
            await pilot.press("y")
            await settle(pilot.pause, lambda: column(screen.table, "State") == ["ERROR"], "wait-a killed", 60)
            await pilot.press("escape")
            await on_screen(pilot, ExperimentsScreen)
            await pilot.press("down", "enter")
            screen = await jobs_shown(pilot, 1)
            assert "wait-b" in str(screen.query_one("#title").content)
            await pilot.press("k")
            await on_screen(pilot, ConfirmScreen)
            await pilot.click("#yes")  # the mouse works too
            await settle(pilot.pause, lambda: column(screen.table, "State") == ["ERROR"], "wait-b killed", 60)

        drive(workspace, scenario)
        for driver in drivers:
            driver.wait(60)
    finally:
        for driver in drivers:
            driver.kill()
