"""The services screen, driven with Textual's pilot: a real file server (``python -m http.server``)
registered by a real plan, started and stopped from the TUI with confirmation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tui_support import settle

from xpm_core.testing import served_workspace, url_answers
from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.confirm import ConfirmScreen
from xpm_tui.screens.experiments import ExperimentsScreen
from xpm_tui.screens.jobs import JobsScreen
from xpm_tui.screens.services import ServicesScreen


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, int]:
    return served_workspace(tmp_path)


def cells(screen: ServicesScreen) -> list[list[str]]:
    table = screen.table
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def test_services_screen_starts_and_stops_a_service_with_confirmation(served: tuple[Path, int]) -> None:
    workspace, port = served
    url = f"http://127.0.0.1:{port}/"
    monitor = TuiMonitor(workspace, headless=True)

    async def scenario(pilot: Any) -> None:
        experiments = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ExperimentsScreen)
                                   and pilot.app.screen, "the experiments")
        await settle(pilot.pause, lambda: experiments.table.row_count == 1, "the experiment")
        await pilot.press("v")
        screen = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ServicesScreen) and pilot.app.screen,
                              "the services screen")
        await settle(pilot.pause, lambda: cells(screen) == [["files", "STOPPED", "-", "the run's files"]],
                     "the stopped service")

        await pilot.press("a")  # start: asks first; "n" keeps it stopped
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("n")
        await settle(pilot.pause, lambda: pilot.app.screen is screen, "back to the services")
        assert not url_answers(url)

        await pilot.press("a")
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await settle(pilot.pause, lambda: cells(screen) == [["files", "RUNNING", url, "the run's files"]],
                     "the running service and its URL")
        assert url_answers(url + "page.txt")
        await pilot.press("c")
        await settle(pilot.pause, lambda: pilot.app.clipboard == url, "the URL on the clipboard")

        await pilot.press("x")
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await settle(pilot.pause, lambda: cells(screen)[0][1] == "STOPPED", "the stopped service")
        assert not url_answers(url)

        await pilot.press("escape")  # back; the jobs screen opens the services of its run too
        await pilot.press("enter")
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, JobsScreen), "the jobs")
        await pilot.press("v")
        again = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ServicesScreen)
                             and pilot.app.screen, "the services of the run")
        await settle(pilot.pause, lambda: again.table.row_count == 1, "the service")

    async def play() -> None:
        async with monitor.app.run_test(size=(150, 40)) as pilot:
            monitor.follow()
            await scenario(pilot)

    try:
        asyncio.run(play())
    finally:
        monitor.close()
    assert not url_answers(url)
