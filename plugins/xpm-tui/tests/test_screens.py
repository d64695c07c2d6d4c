"""Every screen of the TUI driven with Textual's pilot, on workspaces written by real experiments."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from tui_support import settle

from xpm_tui.monitor import TuiMonitor
from xpm_tui.screens.confirm import ConfirmScreen
from xpm_tui.screens.experiments import ExperimentsScreen, RunsScreen
from xpm_tui.screens.help import HelpScreen
from xpm_tui.screens.job import JobScreen
from xpm_tui.screens.jobs import JobsScreen
from xpm_tui.screens.log import LogScreen
from xpm_tui.screens.orphans import OrphansScreen

SIZE = (150, 40)


def drive(workspace: Path, scenario: Callable[[Any, TuiMonitor], Awaitable[None]], **options: Any) -> None:
    """Run the TUI headless on ``workspace`` and play ``scenario(pilot, monitor)`` on it."""
    monitor = TuiMonitor(workspace, headless=True, **options)

    async def play() -> None:
        async with monitor.app.run_test(size=SIZE) as pilot:
            monitor.follow()  # the refresh thread, as run() starts it
            await scenario(pilot, monitor)

    try:
        asyncio.run(play())
    finally:
        monitor.close()


def rows(table: Any) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def column(table: Any, label: str) -> list[str]:
    """The cells of the column ``label`` (none while the table has no such column: not loaded yet)."""
    labels = [str(col.label).rstrip(" ▲▼") for col in table.ordered_columns]
    if label not in labels:
        return []
    index = labels.index(label)
    return [row[index] for row in rows(table)]


async def on_screen(pilot: Any, kind: type) -> Any:
    return await settle(pilot.pause, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen,
                        f"the {kind.__name__}")


async def jobs_shown(pilot: Any, count: int) -> JobsScreen:
    screen = await on_screen(pilot, JobsScreen)
    await settle(pilot.pause, lambda: screen.table.row_count == count and screen.page is not None,
                 f"{count} jobs in the table")
    return screen


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*["space" if char == " " else char for char in text])


def test_experiments_screen_lists_runs_counts_and_host_and_sorts(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await on_screen(pilot, ExperimentsScreen)
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "the experiment")
        (row,) = rows(screen.table)
        assert row[0] == "grid" and row[1] == "1"
        assert row[3] == "failed"  # a job failed
        assert column(screen.table, "Done") == ["4"] and column(screen.table, "Error") == ["1"]
        assert column(screen.table, "Jobs") == ["5"]
        assert column(screen.table, "Host")[0] not in ("", "-")
        await pilot.press("s")  # sorted by the next column
        assert screen.sort_column == "runs"
        await pilot.press("r")
        assert screen.descending
        await pilot.press("u")  # the runs of the experiment
        runs = await on_screen(pilot, RunsScreen)
        await settle(pilot.pause, lambda: runs.table.row_count == 1, "the run")
        await pilot.press("enter")
        jobs = await jobs_shown(pilot, 5)
        assert jobs.run_id == rows(runs.table)[0][0]
        await pilot.press("escape", "escape")
        assert pilot.app.screen is screen

    drive(grid_workspace, scenario)


def test_jobs_screen_shows_tags_as_columns_and_searches_as_you_type(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        experiments = await on_screen(pilot, ExperimentsScreen)
        # Enter opens the highlighted experiment: wait until the table has it.
        await settle(pilot.pause, lambda: experiments.table.row_count > 0, "the experiments")
        await pilot.press("enter")
        screen = await jobs_shown(pilot, 5)
        labels = [str(col.label).rstrip(" ▲▼") for col in screen.table.ordered_columns]
        assert labels == ["State", "Task", "Job", "learning_rate", "size", "Submitted", "Duration"]
        assert sorted(column(screen.table, "State")) == ["DONE"] * 4 + ["ERROR"]
        assert sorted(column(screen.table, "size")) == ["", "256", "256", "64", "64"]

        await pilot.press("slash")
        await type_text(pilot, '@state = "error"')
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "the failed job only")
        assert column(screen.table, "Task") == ["__main__.fail"]
        # A mistake is shown in place, with its column; the last good table stays.
        await type_text(pilot, " andd")
        error = screen.query_one("#filter-error")
        await settle(pilot.pause, lambda: error.display, "the filter error")
        text = plain(error)
        assert "column 18" in text and "^" in text
        assert screen.table.row_count == 1
        await pilot.press(*["backspace"] * len(' andd@state = "error"'))
        await type_text(pilot, "learning_rate = 0.01 and size > 100")
        await settle(pilot.pause, lambda: screen.table.row_count == 1 and not error.display, "one training")
        assert column(screen.table, "learning_rate") == ["0.01"] and column(screen.table, "size") == ["256"]
        await pilot.press("enter")  # back to the table
        assert screen.table.has_focus

    drive(grid_workspace, scenario)


def test_jobs_sort_by_any_column_with_keys_and_mouse(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 5)
        # With the mouse: a click on the header "size" sorts by it, a second click reverses.
        table = screen.table
        x = sum(col.get_render_width(table) for col in table.ordered_columns[:4]) + 1
        await pilot.click("#table", offset=(x, 0))
        await settle(pilot.pause, lambda: column(table, "size") == ["", "64", "64", "256", "256"], "sorted by size")
        await pilot.click("#table", offset=(x, 0))
        await settle(pilot.pause, lambda: column(table, "size") == ["256", "256", "64", "64", ""], "reversed")
        # With the keys: s moves to the next column (Submitted), r reverses it.
        await pilot.press("s")
        await settle(pilot.pause, lambda: screen.sort == "submitted", "sorted by submission")
        await pilot.press("s", "s", "s")  # Duration, then around to State, Task
        await settle(pilot.pause, lambda: screen.sort == "task" and not screen.descending, "sorted by task")
        await settle(pilot.pause, lambda: column(table, "Task")[0] == "__main__.fail", "the tasks in order")
        await pilot.press("r")
        await settle(pilot.pause, lambda: column(table, "Task")[-1] == "__main__.fail", "reversed")

    drive(grid_workspace, scenario, experiment_id="grid")


def test_jobs_are_read_a_page_at_a_time(grid_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xpm_tui.screens.jobs.PAGE_SIZE", 2)

    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 2)
        # The page shows first, its total once counted (a query of its own, made once per filter).
        await settle(pilot.pause, lambda: "jobs 1-2 of 5" in plain(screen.query_one("#status")), "the total")
        seen = set(column(screen.table, "Job"))
        await pilot.press("n")
        await settle(pilot.pause, lambda: screen.page_offset == 2 and screen.page.offset == 2, "page 2")
        seen |= set(column(screen.table, "Job"))
        await pilot.press("n")
        await settle(pilot.pause, lambda: screen.page.offset == 4 and screen.table.row_count == 1, "page 3")
        seen |= set(column(screen.table, "Job"))
        assert len(seen) == 5
        await pilot.press("n")  # no page 4
        await pilot.pause(0.2)
        assert screen.page_offset == 4
        await pilot.press("p")
        await settle(pilot.pause, lambda: screen.page.offset == 2, "back to page 2")

    drive(grid_workspace, scenario, experiment_id="grid")


def test_job_screen_shows_parameters_tags_paths_and_failure(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 5)
        await pilot.press("slash")
        await type_text(pilot, '@name ~ "fail"')
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "the failed job")
        await pilot.press("enter", "enter")  # leave the search box, open the job
        job = await on_screen(pilot, JobScreen)
        await settle(pilot.pause, lambda: job.detail is not None, "the job's details")
        text = plain(job.query_one("#detail"))
        for expected in ("ERROR", "Failure", "reason:", "__main__.fail", '"code"', "3", "Paths", "fail.err",
                         "Depends on", "Parameters"):
            assert expected in text, expected
        await pilot.press("escape")
        await on_screen(pilot, JobsScreen)
        await pilot.press("slash", "ctrl+u")  # empty the search box
        await type_text(pilot, "size = 64 and learning_rate = 0.1")
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "one training")
        await pilot.press("enter", "enter")
        job = await on_screen(pilot, JobScreen)
        await settle(pilot.pause, lambda: job.detail is not None, "the job's details")
        text = plain(job.query_one("#detail"))
        assert "learning_rate=0.1, size=64" in text and '"learning_rate": 0.1' in text
        assert "DONE" in text and "reason:" not in text

    drive(grid_workspace, scenario, experiment_id="grid")


def plain(*widgets: Any) -> str:
    """The text of Static widgets as a 200-column terminal shows it."""
    from rich.console import Console

    with open("/dev/null", "w") as sink:
        console = Console(width=200, record=True, file=sink)
        for widget in widgets:
            console.print(widget.content)
    return console.export_text()


def test_log_viewer_switches_streams_jumps_follows_and_searches(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 5)
        await pilot.press("slash")
        await type_text(pilot, "size = 64 and learning_rate = 0.1")
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "one training")
        await pilot.press("enter", "l")
        log = await on_screen(pilot, LogScreen)
        await settle(pilot.pause, lambda: any("step 39 of size 64" in line for line in log.log_widget.lines), "stderr")
        assert log.stream == "stderr" and log.follow
        await pilot.press("t")
        await settle(pilot.pause, lambda: any("epoch 39: loss" in line for line in log.log_widget.lines), "stdout")
        assert not any("step 39" in line for line in log.log_widget.lines)
        await pilot.press("g")
        assert not log.follow and log.log_widget.scroll_y == 0
        await pilot.press("f")
        assert log.follow
        await pilot.press("slash")
        await type_text(pilot, "epoch 7:")
        await pilot.press("enter")
        await settle(pilot.pause, lambda: log.match_line is not None, "the match")
        assert "epoch 7: loss" in log.log_widget.lines[log.match_line]
        assert not log.follow  # a match stops following, or the view would jump away from it
        first = log.match_line
        await pilot.press("escape")  # out of the search box
        await pilot.press("N")  # no earlier match
        assert log.match_line == first
        await pilot.press("G")
        await pilot.press("escape")
        await on_screen(pilot, JobsScreen)

    drive(grid_workspace, scenario, experiment_id="grid")


def test_help_lists_the_keys_of_the_screen(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        await jobs_shown(pilot, 5)
        await pilot.press("question_mark")
        help_screen = await on_screen(pilot, HelpScreen)
        text = plain(*help_screen.query("Static"))
        for description in ("Search", "Kill all", "Clean", "Copy path", "Next page", "Quit", "Filter language"):
            assert description in text, description
        await pilot.press("escape")
        await on_screen(pilot, JobsScreen)

    drive(grid_workspace, scenario, experiment_id="grid")


def test_copy_path_puts_the_job_folder_on_the_clipboard(grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 5)
        await pilot.press("c")
        job = screen.selected_job()
        assert job is not None and pilot.app.clipboard == job.path
        assert Path(job.path).is_dir()

    drive(grid_workspace, scenario, experiment_id="grid")


def test_clean_asks_first_and_then_deletes_a_finished_job(own_grid_workspace: Path) -> None:
    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        screen = await jobs_shown(pilot, 5)
        job = screen.selected_job()
        assert job is not None and job.state in ("done", "error")
        await pilot.press("d")
        confirm = await on_screen(pilot, ConfirmScreen)
        assert f"would delete {job.full_id}" in confirm.lines
        await pilot.press("n")  # no: nothing happens
        await on_screen(pilot, JobsScreen)
        assert Path(job.path).is_dir()
        await pilot.press("d")
        await on_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot.pause, lambda: screen.table.row_count == 4, "the job gone from the table")
        assert not Path(job.path).exists()
        assert job.job_id[:12] not in column(screen.table, "Job")

    drive(own_grid_workspace, scenario, experiment_id="grid")



def test_a_running_job_row_shows_its_progress() -> None:
    import attrs

    from xpm_core.plugin import JobSummary

    job = JobSummary(job_id="ab" * 32, task_id="pkg.learn", path="/ws/jobs/pkg.learn/abab", state="running",
                     failure_reason=None, submitted_time=None, started_time=None, ended_time=None, exit_code=None,
                     retry_count=None, experiment_id=None, run_id=None,
                     progress=[{"level": 0, "value": 0.42, "desc": "epochs"}])
    assert str(JobsScreen.cells(job, [], 0.0)[0]) == "RUNNING 42%"
    assert str(JobsScreen.cells(attrs.evolve(job, progress=[]), [], 0.0)[0]) == "RUNNING"
def test_orphans_screen_lists_sizes_and_cleans_after_confirmation(own_grid_workspace: Path) -> None:
    # Two folders no run lists: a finished job (a copy of a done one under a new hash) and one
    # whose pid file says it may still run.
    done = next(path for path in (own_grid_workspace / "jobs").glob("*/*") if list(path.glob("*.done")))
    orphan = done.parent / ("f" * 64)
    shutil.copytree(done, orphan)
    running = done.parent / ("e" * 64)
    running.mkdir()
    name = next(done.glob("*.done")).name.removesuffix(".done")
    (running / f"{name}.pid").write_text(json.dumps({"launcher": "direct", "id": str(os.getpid()), "pid": os.getpid()}))
    task = done.parent.name

    async def scenario(pilot: Any, monitor: TuiMonitor) -> None:
        await on_screen(pilot, ExperimentsScreen)
        await pilot.press("o")
        screen = await on_screen(pilot, OrphansScreen)
        await settle(pilot.pause, lambda: screen.table.row_count == 2, "the two orphans")
        assert sorted(column(screen.table, "Job")) == ["e" * 12, "f" * 12]
        sizes = dict(zip(column(screen.table, "Job"), column(screen.table, "Size")))
        assert re.fullmatch(r"\d+(\.\d)? (B|KiB|MiB)", sizes["f" * 12]), sizes
        states = dict(zip(column(screen.table, "Job"), column(screen.table, "State")))
        assert states == {"f" * 12: "DONE", "e" * 12: "RUNNING"}
        await pilot.press("D")  # every orphan: the one that may run is kept, and the dialog says so
        confirm = await on_screen(pilot, ConfirmScreen)
        assert "Delete the folders of 1 job (every orphan job)?" == confirm.question
        assert f"would delete {task}/{'f' * 64}" in confirm.lines
        assert any(line.startswith(f"keeping {task}/{'e' * 64}: it may still be running") for line in confirm.lines)
        await pilot.press("n")  # no: nothing happens
        await on_screen(pilot, OrphansScreen)
        assert orphan.is_dir()
        await pilot.press("D")
        await on_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot.pause, lambda: screen.table.row_count == 1, "the deleted orphan gone from the table")
        assert not orphan.exists() and running.is_dir()
        assert column(screen.table, "Job") == ["e" * 12]

    drive(own_grid_workspace, scenario)
    # The same semantics as `xpm orphans`: what the screen kept, the command lists too.
    listed = subprocess.run([str(Path(sys.executable).with_name("xpm")), "orphans", str(own_grid_workspace)],
                            capture_output=True, text=True, check=True).stdout
    assert f"{task}/{'e' * 64}  (running)" in listed and "f" * 64 not in listed
