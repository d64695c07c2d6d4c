"""A Slurm job that ends after its driver died is seen without a sync: by ``xpm jobs list`` and by a
running monitor (``xpm experiments monitor-server``, whose marker watcher records the end)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from xpm_core.plugin import RemoteWorkspace

PLAN = '''
import sys, time
from pathlib import Path
from xpm_core import Task
from xpm_core.runtime.experiment import experiment
from xpm_slurm.launcher import SlurmLauncher


class Gate(Task):
    def execute(self):
        Path("started").touch()
        while not Path("go").exists():
            time.sleep(0.05)


if __name__ == "__main__":
    with experiment(sys.argv[1], "gate"):
        Gate.C().submit(launcher=SlurmLauncher(poll_interval=0.5))
'''


def wait_for(predicate, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def xpm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpm_core", *args], capture_output=True, text=True, timeout=120)


def index_states(workspace: Path) -> list[str]:
    """The states the index holds, read with plain SQL (no xpm code re-checks a marker)."""
    connection = sqlite3.connect(workspace / ".xpm" / "index.db")
    try:
        return [state for (state,) in connection.execute("SELECT state FROM jobs")]
    finally:
        connection.close()


def test_a_slurm_job_ending_after_its_driver_died_is_seen(tmp_path, slurm_cluster, monkeypatch):
    (tmp_path / "gate_plan.py").write_text(textwrap.dedent(PLAN))
    workspace = tmp_path / "ws"
    driver = subprocess.Popen([sys.executable, "gate_plan.py", str(workspace)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    go = None
    try:
        wait_for(lambda: list(workspace.glob("jobs/*/*/started")), "the Slurm job to start")
        driver.kill()  # kill -9: no driver will report the job's end
        driver.wait()
        [folder] = workspace.glob("jobs/*/*/")
        go = folder / "go"
        # Started, as the dead driver last saw it (its poll may not have seen it run yet).
        assert xpm("jobs", "list", "--workdir", str(workspace)).stdout.split()[0] in ("SCHEDULED", "RUNNING")

        monkeypatch.setenv("XPM_WATCHER", "polling")  # as on a cluster's shared file system
        monkeypatch.setenv("XPM_POLLING_INTERVAL", "0.2")
        command = [sys.executable, "-m", "xpm_core", "experiments", "monitor-server", str(workspace)]
        with RemoteWorkspace.over_command(command) as monitor:
            token = monitor.change_token()
            go.touch()  # the job ends on its own, on the Slurm node, and writes its marker
            wait_for(lambda: (folder / "gate.done").exists(), "the Slurm job to finish")
            wait_for(lambda: index_states(workspace) == ["done"], "the monitor to record the job's end")
            wait_for(lambda: monitor.notified_token not in (None, token), "the monitor to notify the change")
            assert [job.state for job in monitor.jobs().jobs] == ["done"]
        assert xpm("jobs", "list", "--workdir", str(workspace)).stdout.split()[0] == "DONE"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        if go is not None:
            go.touch()  # never leave the job occupying the cluster
