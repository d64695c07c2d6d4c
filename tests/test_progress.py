"""A running task's progress (``progress``, ``tqdm``) reaches ``xpm jobs list``, the workspace API and the console monitor."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

from cli_support import xpm
from runtime_support import driver_env, wait_for

from xpm_core.builtin.console.monitor import ConsoleMonitor
from xpm_core.plugin.workspace import WorkspaceAPI
from xpm_core.runtime import task_progress
from xpm_core.runtime.progress_file import read_progress

TASKS = '''
import time
from pathlib import Path
from experimaestro_style import progress, tqdm
from xpm_core import Task, Param


def wait_for_release():
    deadline = time.monotonic() + 120
    while not Path("release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class Learn(Task):
    epochs: Param[int]

    def execute(self):
        progress(0.42, desc="epochs")
        progress(0.5, level=1, desc="batches")
        Path("reported").touch()
        wait_for_release()
        for _ in tqdm(range(self.epochs), desc="epochs"):
            pass
        Path("iterated").touch()
        wait_for_release2()


def wait_for_release2():
    deadline = time.monotonic() + 120
    while not Path("release2").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
'''

PLAN = '''
import sys
from xpm_core import experiment
from tasks import Learn

with experiment(sys.argv[1], "progress") as xp:
    Learn.C(epochs=20).submit()
'''


def write_project(folder: Path) -> Path:
    # experimaestro's names, as a ported script imports them (``from experimaestro import ...``)
    (folder / "experimaestro_style.py").write_text("from xpm_core import progress, tqdm\n")
    (folder / "tasks.py").write_text(TASKS)
    (folder / "plan.py").write_text(PLAN)
    return folder / "plan.py"


def listed(workspace: Path) -> str:
    result = xpm("jobs", "list", "--workdir", str(workspace))
    assert result.returncode == 0, result.stderr
    return result.stdout


def poll(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_progress_of_a_running_task_is_seen_by_jobs_list_the_api_and_the_console(tmp_path):
    plan, workspace = write_project(tmp_path), tmp_path / "ws"
    driver = subprocess.Popen([sys.executable, str(plan), str(workspace)], cwd=tmp_path, env=driver_env(workspace),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list(workspace.glob("jobs/tasks.learn/*/reported")), "the task to report progress")
        [job_dir] = (workspace / "jobs" / "tasks.learn").iterdir()
        levels = [{"level": 0, "value": 0.42, "desc": "epochs"}, {"level": 1, "value": 0.5, "desc": "batches"}]
        # the writer thread writes the first call at once, the second one an interval later
        poll(lambda: read_progress(job_dir) == levels, "both levels to be written")

        line = poll(lambda: next((row for row in listed(workspace).splitlines() if "RUNNING 42%" in row), None),
                    "xpm jobs list to show the progress")
        assert line.split()[-1] == f"tasks.learn/{job_dir.name}"

        with WorkspaceAPI(workspace) as api:
            detail = api.job(f"tasks.learn/{job_dir.name}")
            assert detail.job.progress == levels
            [row] = api.jobs().jobs
            assert row.progress == detail.job.progress

        stream = io.StringIO()
        monitor = ConsoleMonitor(workspace, experiment_id="progress", stream=stream)
        monitor.refresh()
        assert "RUNNING 42% epochs › 50% batches" in stream.getvalue()

        # tqdm (or its stand-in without the tqdm package) reports n / total at its level
        (job_dir / "release").touch()
        wait_for(lambda: (job_dir / "iterated").exists(), "the task to iterate")
        poll(lambda: read_progress(job_dir) == [{"level": 0, "value": 1.0, "desc": "epochs"}],
             "the loop's progress to be written")
        poll(lambda: "RUNNING 100%" in listed(workspace), "xpm jobs list to show the loop's progress")
        (job_dir / "release2").touch()
        stdout, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 0, stderr
    # a finished job shows its state only
    assert listed(workspace).split() == ["DONE", f"tasks.learn/{job_dir.name}"]
    with WorkspaceAPI(workspace) as api:
        assert api.jobs().jobs[0].progress == []


def test_progress_outside_a_job_reports_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task_progress.progress(0.3)
    assert list(tmp_path.iterdir()) == []


def test_a_tight_loop_writes_the_file_a_few_times_only(tmp_path, monkeypatch):
    writes = []
    original = task_progress.write_progress
    monkeypatch.setattr(task_progress, "write_progress", lambda *args: (writes.append(args), original(*args)))
    reporter = task_progress.start_reporting(tmp_path)
    try:
        for step in range(100_000):
            task_progress.progress(step / 100_000, desc="steps")
    finally:
        task_progress.stop_reporting()
    # one write per interval of the writer thread, and the last value when the task ends
    assert 1 <= len(writes) < 100
    assert read_progress(tmp_path) == [{"level": 0, "value": 99_999 / 100_000, "desc": "steps"}]
    assert reporter.levels[0]["desc"] == "steps"


def test_a_deeper_level_is_dropped_when_an_outer_level_moves(tmp_path):
    reporter = task_progress.ProgressReporter(tmp_path)
    reporter.set(0.1, level=0, desc="epochs")
    reporter.set(0.5, level=1, desc="batches")
    reporter.set(0.2, level=0)
    reporter.close()
    assert json.loads((tmp_path / ".experimaestro" / "progress.json").read_text())["levels"] == [
        {"level": 0, "value": 0.2, "desc": "epochs"}]


def test_the_minimal_bar_counts_without_the_tqdm_package(tmp_path):
    bar_type = task_progress.MinimalProgressBar
    task_progress.start_reporting(tmp_path)
    try:
        with bar_type(total=4, desc="outer") as outer:
            outer.update(1)
            inner = bar_type(range(2), desc="inner")
            assert inner.level == 1
            assert list(inner) == [0, 1]
            outer.update(1)
    finally:
        task_progress.stop_reporting()
    assert read_progress(tmp_path) == [{"level": 0, "value": 0.5, "desc": "outer"}]
