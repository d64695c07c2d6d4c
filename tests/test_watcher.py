"""Jobs that end while no driver runs are seen without a manual sync: by ``xpm jobs list`` and by
a running monitor (``xpm experiments monitor-server``), through the marker watcher."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from cli_support import xpm
from runtime_support import start_driver, wait_for, write_plan

from xpm_core.plugin import RemoteWorkspace
from xpm_core.workspace.watcher import MarkerWatcher, inotify_available

# A job that runs until the test lets it finish.
GATE = '''

class Gate(Task):
    def execute(self):
        Path("started").touch()
        while not Path("go").exists():
            time.sleep(0.05)
        log("gate passed")
'''

MODES = ["polling", pytest.param("inotify", marks=pytest.mark.skipif(not inotify_available(), reason="no inotify"))]


def index_states(workspace: Path) -> list[str]:
    """The job states the index holds, read with plain SQL: no xpm code re-checks any marker."""
    connection = sqlite3.connect(workspace / ".xpm" / "index.db")
    try:
        return [state for (state,) in connection.execute("SELECT state FROM jobs")]
    finally:
        connection.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_job_ending_after_its_driver_died_is_seen_by_a_running_monitor(tmp_path, monkeypatch, mode):
    plan = write_plan(tmp_path, "Gate.C().submit()")
    with open(tmp_path / "tasks.py", "a") as tasks:
        tasks.write(GATE)
    workspace = tmp_path / "ws"
    driver = start_driver(plan, workspace, "gate")
    wait_for(lambda: list(workspace.glob("jobs/tasks.gate/*/started")), "the job to start")
    driver.kill()  # kill -9: nobody will report the job's end
    driver.wait()
    [folder] = (workspace / "jobs" / "tasks.gate").iterdir()

    monkeypatch.setenv("XPM_WATCHER", mode)
    monkeypatch.setenv("XPM_POLLING_INTERVAL", "0.2")
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "")
    command = [sys.executable, "-m", "xpm_core", "experiments", "monitor-server", str(workspace)]
    with RemoteWorkspace.over_command(command) as monitor:
        assert [job.state for job in monitor.jobs().jobs] == ["running"]
        token = monitor.change_token()
        (folder / "go").touch()  # the job ends on its own and writes its marker
        wait_for(lambda: (folder / "gate.done").exists(), "the job to finish")
        # The monitor process records the end in the index by itself, and says the index changed.
        wait_for(lambda: index_states(workspace) == ["done"], "the monitor to record the job's end")
        wait_for(lambda: monitor.notified_token not in (None, token), "the monitor to notify the change")
        assert [job.state for job in monitor.jobs().jobs] == ["done"]

    listed = xpm("jobs", "list", "--workdir", str(workspace))
    assert listed.returncode == 0 and listed.stdout.split()[0] == "DONE", listed


def test_jobs_list_shows_a_job_that_ended_without_its_driver(tmp_path):
    plan = write_plan(tmp_path, "Gate.C().submit()")
    with open(tmp_path / "tasks.py", "a") as tasks:
        tasks.write(GATE)
    workspace = tmp_path / "ws"
    driver = start_driver(plan, workspace, "gate")
    wait_for(lambda: list(workspace.glob("jobs/tasks.gate/*/started")), "the job to start")
    driver.kill()
    driver.wait()
    [folder] = (workspace / "jobs" / "tasks.gate").iterdir()
    assert xpm("jobs", "list", "--workdir", str(workspace)).stdout.split()[0] == "RUNNING"
    (folder / "go").touch()
    wait_for(lambda: (folder / "gate.done").exists(), "the job to finish")
    listed = xpm("jobs", "list", "--workdir", str(workspace))  # no sync
    assert listed.stdout.split()[0] == "DONE", listed
    assert "(1/1 jobs) detached" in xpm("experiments", "list", "--workdir", str(workspace)).stdout


@pytest.mark.parametrize("mode", MODES)
def test_the_marker_watcher_reports_markers_appearing_and_pid_files_going(tmp_path, mode):
    folders = {str(tmp_path / name): "learn" for name in ("a", "b")}
    for folder in folders:
        Path(folder).mkdir()
        (Path(folder) / "learn.pid").write_text("{}")
    watcher = MarkerWatcher(mode=mode, interval=0.1)
    try:
        assert watcher.mode == mode
        watcher.watch(folders)
        assert watcher.changes(0) == set()
        (tmp_path / "a" / "learn.out").write_text("not a marker")
        (tmp_path / "a" / "learn.done").touch()
        assert watcher.changes(30) == {str(tmp_path / "a")}
        (tmp_path / "b" / "learn.pid").unlink()
        assert watcher.changes(30) == {str(tmp_path / "b")}
        watcher.watch({str(tmp_path / "b"): "learn"})  # "a" is not watched any more
        (tmp_path / "a" / "learn.failed").touch()
        assert watcher.changes(0.5) == set()
    finally:
        watcher.close()
