"""The actions screen, driven with Textual's pilot: the actions a real plan registered, listed for
the latest run (from the experiments) and for a chosen run (from the runs), with the command that
runs each, which is copied and then run for real."""

from __future__ import annotations

import asyncio
import html
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tui_support import settle

from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.actions import ActionsScreen
from xpm_tui.screens.experiments import ExperimentsScreen, RunsScreen

PLAN = '''
import sys
from xpm_core import Action, Interaction, Param, Task, experiment


class Export(Action):
    name: Param[str]

    def describe(self):
        return f"Export {self.name} [to the hub]"

    def execute(self, interaction: Interaction):
        target = interaction.choice("target", "Export to:", ["hub", "local"])
        print(f"EXPORTING {self.name} to {target}")


class Train(Task):
    name: Param[str]

    def __submit__(self, dep, add_action, **kwargs):
        add_action(Export.C(name=self.name))
        return self

    def execute(self):
        print("trained", self.name)


if __name__ == "__main__":
    with experiment(sys.argv[1], "exports") as xp:
        for name in sys.argv[2:]:
            Train.C(name=name).submit()
'''


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """Two runs of ``exports``: the first registers one action, the latest two."""
    (tmp_path / "plan.py").write_text(PLAN)
    workspace = tmp_path / "workspace"
    for names in (["bert"], ["bert", "t5"]):
        result = subprocess.run([sys.executable, str(tmp_path / "plan.py"), str(workspace), *names],
                                capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
    return workspace


def cells(screen: ActionsScreen) -> list[list[str]]:
    table = screen.table
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def shown(app: Any) -> str:
    """The text on the screen (read from Textual's SVG screenshot)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot()))
    return text.replace("\xa0", " ")


def command_line(screen: ActionsScreen) -> str:
    return str(screen.query_one("#command").render())


def test_actions_screen_lists_a_runs_actions_and_copies_the_command_that_runs_one(exported: Path) -> None:
    monitor = TuiMonitor(exported, headless=True)
    copied: list[str] = []

    async def scenario(pilot: Any) -> None:
        experiments = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ExperimentsScreen)
                                   and pilot.app.screen, "the experiments")
        await settle(pilot.pause, lambda: experiments.table.row_count == 1, "the experiment")
        await pilot.press("a")  # the actions of the latest run
        screen = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ActionsScreen) and pilot.app.screen,
                              "the actions screen")
        await settle(pilot.pause, lambda: [row[1:] for row in cells(screen)] == [
            ["Export bert [to the hub]", "__main__.Export"], ["Export t5 [to the hub]", "__main__.Export"]], "the two actions")
        assert "Export bert [to the hub]" in shown(pilot.app)  # the plan's text, not read as markup
        first = screen.rows[0] if screen.rows[0]["description"].startswith("Export bert") else screen.rows[1]
        assert cells(screen)[0][0] == first["id"][:12]
        await settle(pilot.pause, lambda: first["command"] in command_line(screen), "the command of the selection")
        await pilot.press("c")
        await settle(pilot.pause, lambda: pilot.app.clipboard == first["command"], "the command on the clipboard")
        copied.append(pilot.app.clipboard)

        await pilot.press("escape", "u")  # the runs: the first one registered one action
        runs = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, RunsScreen) and pilot.app.screen,
                            "the runs")
        await settle(pilot.pause, lambda: runs.table.row_count == 2, "the two runs")
        oldest = min(row.run_id for row in runs.rows)
        assert runs.selected().run_id == oldest  # oldest first
        await pilot.press("a")
        of_run = await settle(pilot.pause, lambda: isinstance(pilot.app.screen, ActionsScreen) and pilot.app.screen,
                              "the actions of the run")
        await settle(pilot.pause, lambda: [row[1] for row in cells(of_run)] == ["Export bert [to the hub]"], "its one action")
        assert of_run.run_id == oldest and of_run.rows[0]["command"].endswith(f"--run {oldest}")

    async def play() -> None:
        async with monitor.app.run_test(size=(150, 40)) as pilot:
            monitor.follow()
            await scenario(pilot)

    try:
        asyncio.run(play())
    finally:
        monitor.close()

    # What the TUI copied runs the action (its question answered in advance).
    words = shlex.split(copied[0])
    result = subprocess.run([sys.executable, "-m", "xpm_core", *words[1:], "--set", "target=hub"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "EXPORTING bert to hub" in result.stdout
