"""TUI benchmark: on a generated workspace of N jobs, time to the first screen and keystroke to filtered table.

Run:  python benchmarks/tui_bench.py [--size 100000] [--runs 1] [--repeat 3]

The workspace index is generated (no job folders), like the index suite's: N jobs of 10 tasks,
tagged lr, model and seed, 96% done, 2% error, 1% running, 1% waiting, in RUNS runs of one
experiment (``--runs 1``: every job in one run, the worst case for the jobs screen). The TUI
runs headless (Textual's pilot) at 150x40; times are wall-clock seconds, median of the repeats.

- first screen: from creating the TUI to the jobs table of the (latest) run showing its first
  page (the monitor opened as ``xpm experiments monitor --console grid`` opens it);
- keystroke to filtered table: from the last key typed in the search box to the table showing
  the jobs that match (``model = "bm25"``, then ``@state = "error"``), watched while the pilot
  handles the key (its ``press`` returns only once the app is idle, after the total is counted);
- sort: from ``s`` to the table showing the page sorted by the next column (Duration).

Goals (issue 15): first screen under 1 s, keystroke to filtered table under 150 ms.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import click

sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchmarks.suites.index import reusable_workspace  # noqa: E402 - after the path

TASKS = [f"bench.tasks.task{n}" for n in range(10)]
LEARNING_RATES = [0.1, 0.03, 0.01, 0.003, 0.001]
MODELS = ["bm25", "splade", "colbert", "dpr", "monot5", "tfidf", "ance"]
SIZE = (150, 40)


def job_state(n: int) -> str:
    return {0: "error", 1: "error", 2: "running", 3: "waiting"}.get(n % 100, "done")


def generate(workspace: Path, size: int, runs: int) -> None:
    """An index of ``size`` jobs in ``runs`` runs of the experiment ``grid`` (no job folders)."""
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission

    (workspace / "jobs").mkdir(parents=True)
    (workspace / "experiments").mkdir()
    index = WorkspaceIndex(workspace)
    for run in range(runs):
        run_id = f"20260101_{run:06d}"
        index.record_run_started("grid", run_id, "bench-host", 1767225600.0 + run)
        index.record_jobs_submitted("grid", run_id, [
            JobSubmission(job_id=f"{n:064x}", task_id=TASKS[n % len(TASKS)],
                          path=str(workspace / "jobs" / TASKS[n % len(TASKS)] / f"{n:064x}"),
                          tags={"lr": LEARNING_RATES[n % 5], "model": MODELS[n % len(MODELS)], "seed": n % 3},
                          submitted_time=1767225600.0 + n)
            for n in range(run, size, runs)
        ])
        index.record_run_finished("grid", run_id, "done", 1767229200.0 + run)
    for n in range(size):
        state = job_state(n)
        index.record_job_state(f"{n:064x}", state, started=1.0, ended=None if state in ("running", "waiting") else 2.0,
                               exit_code=0 if state == "done" else None)
    index.close()



async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the TUI did not get there in time")
        await pilot.pause(0.002)


async def _after(pilot: Any, keys: tuple[str, ...], predicate: Callable[[], bool], timeout: float = 120.0) -> float:
    """Seconds from pressing ``keys`` to ``predicate`` holding, checked while the keys are handled:
    the pilot's ``press`` returns only once the app is idle again, which may be long after the
    table showed (a count made after the page is on screen)."""
    reached: list[float] = []

    async def watch() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the TUI did not get there in time")
            await asyncio.sleep(0.002)
        reached.append(time.perf_counter())

    pressed = time.perf_counter()
    watcher = asyncio.ensure_future(watch())
    await pilot.press(*keys)
    await watcher
    return reached[0] - pressed


def measure_once(workspace: Path) -> dict[str, float]:
    from xpm_tui.monitor import TuiMonitor
    from xpm_tui.screens.jobs import PAGE_SIZE, JobsScreen

    figures: dict[str, float] = {}
    started = time.perf_counter()
    monitor = TuiMonitor(workspace, experiment_id="grid", headless=True)

    async def play() -> None:
        async with monitor.app.run_test(size=SIZE) as pilot:
            def first_page() -> bool:
                screen = pilot.app.screen
                return isinstance(screen, JobsScreen) and screen.table.row_count == PAGE_SIZE
            await _until(pilot, first_page)
            figures["first screen"] = time.perf_counter() - started
            screen = pilot.app.screen
            await pilot.press("slash")
            for name, text in (("keystroke: model = \"bm25\"", 'model = "bm25"'),
                               ("keystroke: @state = \"error\"", '@state = "error"')):
                await pilot.press("ctrl+u")
                await _until(pilot, lambda: screen.shown_filter == "")
                for char in text[:-1]:
                    await pilot.press("space" if char == " " else char)
                await _until(pilot, lambda: screen.shown_filter == text[:-1] or screen.query_one("#filter-error").display)
                figures[name] = await _after(pilot, (text[-1],), lambda: screen.shown_filter == text)
            await pilot.press("ctrl+u")
            # Once counted (the total shows), so that the next new page is the sorted one.
            await _until(pilot, lambda: screen.shown_filter == "" and screen.page is not None and
                         screen.page.total >= 0)
            shown = screen.page
            # Sort by the next column (Duration): a new query, done when its page is on screen.
            figures["sort (s)"] = await _after(pilot, ("escape", "s"), lambda: (
                screen.sort == "duration" and screen.shown_filter == "" and screen.page is not shown and
                screen.page is not None and screen.page.offset == 0 and not screen.table.loading))

    try:
        asyncio.run(play())
    finally:
        monitor.close()
    return figures


def api_figures(workspace: Path) -> dict[str, float]:
    """What one WorkspaceAPI.jobs page costs by itself (the floor under the TUI's figures)."""
    from xpm_core.plugin import WorkspaceAPI

    with WorkspaceAPI(workspace) as api:
        run_id = api.runs("grid")[-1].run_id
        figures = {}
        for name, request in (("api page", {}), ("api page, model filter", {"filter": 'model = "bm25"'})):
            started = time.perf_counter()
            api.jobs(experiment_id="grid", run_id=run_id, limit=100, **request)
            figures[name] = time.perf_counter() - started
    return figures


@click.command()
@click.option("--size", default=100_000, show_default=True, help="Jobs in the generated workspace.")
@click.option("--runs", default=1, show_default=True, help="Runs they are spread over (1: all in the run shown).")
@click.option("--repeat", default=3, show_default=True, help="Timed repetitions (the median is printed).")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
              help="Reuse (or generate once into) this folder instead of a temporary one.")
def main(size: int, runs: int, repeat: int, workspace: Path | None) -> None:
    """Time the TUI on a generated workspace; print one line per figure (median, min, max)."""
    temporary = workspace is None
    folder = Path(tempfile.mkdtemp(prefix="xpm-tui-bench-")) / "workspace" if workspace is None else workspace
    try:
        if not reusable_workspace(folder, size):
            shutil.rmtree(folder, ignore_errors=True)
            started = time.perf_counter()
            generate(folder, size, runs)
            click.echo(f"generated {size} jobs in {runs} run(s) in {time.perf_counter() - started:.1f} s", err=True)
        samples: dict[str, list[float]] = {}
        for _ in range(repeat):
            for name, value in {**api_figures(folder), **measure_once(folder)}.items():
                samples.setdefault(name, []).append(value)
        click.echo(f"TUI on {size:,} jobs ({runs} run(s)), {repeat} repetitions: median (min-max) in ms")
        for name, values in samples.items():
            click.echo(f"  {name:<32} {statistics.median(values) * 1000:8.0f}"
                       f"  ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})")
    finally:
        if temporary:
            shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
