"""The services screen, driven with Textual's pilot: a real file server (``python -m http.server``)
registered by a real plan, started and stopped from the TUI with confirmation."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tui_support import settle

from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.confirm import ConfirmScreen
from xpm_tui.screens.experiments import ExperimentsScreen
from xpm_tui.screens.jobs import JobsScreen
from xpm_tui.screens.services import ServicesScreen

PLAN = '''
import sys
from pathlib import Path
from xpm_core import Task, experiment
from xpm_core.scheduler.services import ProcessWebService, wait_for_port


class Files(ProcessWebService):
    id = "files"

    def __init__(self, directory: Path, port: int):
        super().__init__()
        self.directory, self.port = directory, port

    def description(self):
        return "the run's files"

    def state_dict(self):
        return {"directory": self.directory, "port": self.port}

    def _build_command(self):
        return [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                "--directory", str(self.directory)]

    def _wait_for_ready(self):
        wait_for_port("127.0.0.1", self.port, process=self.process)
        return f"http://127.0.0.1:{self.port}/"


class Hello(Task):
    def execute(self):
        print("hello")


if __name__ == "__main__":
    with experiment(sys.argv[1], "served") as xp:
        Hello.C().submit()
        xp.add_service(Files(Path(sys.argv[3]), int(sys.argv[2])))
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, int]:
    (tmp_path / "plan.py").write_text(PLAN)
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "page.txt").write_text("served page")
    workspace, port = tmp_path / "workspace", free_port()
    result = subprocess.run([sys.executable, str(tmp_path / "plan.py"), str(workspace), str(port), str(directory)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    return workspace, port


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
        assert not answers(url)

        await pilot.press("a")
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await settle(pilot.pause, lambda: cells(screen) == [["files", "RUNNING", url, "the run's files"]],
                     "the running service and its URL")
        assert answers(url + "page.txt")
        await pilot.press("c")
        await settle(pilot.pause, lambda: pilot.app.clipboard == url, "the URL on the clipboard")

        await pilot.press("x")
        await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await settle(pilot.pause, lambda: cells(screen)[0][1] == "STOPPED", "the stopped service")
        assert not answers(url)

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
    assert not answers(url)
