"""``xpm cleanup`` and the workspace's warnings, after real drivers and jobs were killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from cli_support import xpm
from runtime_support import run_driver, start_driver, wait_for, write_plan

from xpm_core.local_host import process_alive
from xpm_core.plugin import RemoteWorkspace

TOKEN_WAIT = 'xp.token("gpu", 1)(1, Wait.C()).submit()'


def job_folder(workspace: Path, task: str) -> Path:
    [folder] = (workspace / "jobs" / f"tasks.{task}").iterdir()
    return folder


def job_pid(folder: Path, name: str) -> int:
    return int(json.loads((folder / f"{name}.pid").read_text())["pid"])


def start_and_kill_driver(plan: Path, workspace: Path, name: str) -> Path:
    """Start the plan, wait for its Wait job, kill the driver with SIGKILL: the job keeps running."""
    driver = start_driver(plan, workspace, name)
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    driver.kill()
    driver.wait()
    return job_folder(workspace, "wait")


def kill_job(folder: Path) -> None:
    pid = job_pid(folder, "wait")
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not process_alive(pid, None), "the job to die")


def test_stale_token_holders_are_a_warning_and_cleanup_fixes_them_and_stale_pid_files(tmp_path):
    workspace = tmp_path / "ws"
    folder = start_and_kill_driver(write_plan(tmp_path, TOKEN_WAIT), workspace, "tok")
    kill_job(folder)  # no marker, a stale pid file, and a token unit held for nobody
    holder = workspace / ".xpm" / "tokens" / "gpu" / "holders" / f"{folder.name}.json"
    assert holder.exists()

    listed = xpm("experiments", "list", "--workdir", str(workspace))
    assert listed.returncode == 0, listed.stderr
    warning = [line for line in listed.stderr.splitlines() if line.startswith("xpm: warning:")]
    assert len(warning) == 1, listed.stderr
    assert f"token 'gpu': 1 unit(s) still held for job tasks.wait/{folder.name}" in warning[0]
    assert f"fix: xpm cleanup --workdir {workspace}" in warning[0]

    # Monitors show it too: over the monitor protocol, and in the console view.
    server = [sys.executable, "-m", "xpm_core", "experiments", "monitor-server", str(workspace)]
    with RemoteWorkspace.over_command(server) as remote:
        [remote_warning] = remote.warnings()
        assert remote_warning.key == f"stale-token:gpu:{folder.name}"
        assert remote_warning.actions == [f"xpm cleanup --workdir {workspace}"]
        assert remote_warning.context["token"] == "gpu" and remote_warning.context["count"] == 1
    frames = tmp_path / "console.txt"
    with open(frames, "w") as output:
        console = subprocess.Popen(
            [sys.executable, "-m", "xpm_core", "experiments", "monitor", "--console", "--workdir", str(workspace)],
            stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "XPM_LOAD_PLUGINS": ""},
        )
    try:
        wait_for(lambda: "fix: xpm cleanup --workdir" in frames.read_text(), "the console view's warning")
        assert "warning: token 'gpu': 1 unit(s) still held" in frames.read_text()
    finally:
        console.terminate()
        console.wait()

    dry = xpm("cleanup", "--dry-run", "--workdir", str(workspace))
    assert dry.returncode == 0, dry.stderr
    assert f"would remove the stale pid file of tasks.wait/{folder.name}" in dry.stdout
    assert "would release 1 unit(s) of token 'gpu'" in dry.stdout
    assert holder.exists() and (folder / "wait.pid").exists()

    cleaned = xpm("cleanup", "--workdir", str(workspace))
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"removed the stale pid file of tasks.wait/{folder.name}" in cleaned.stdout
    assert "released 1 unit(s) of token 'gpu'" in cleaned.stdout
    assert not holder.exists() and not (folder / "wait.pid").exists()
    assert json.loads((folder / "wait.failed").read_text())["reason"] == "failed"
    assert xpm("jobs", "list", "--workdir", str(workspace)).stdout.split()[0] == "ERROR"
    assert "warning" not in xpm("experiments", "list", "--workdir", str(workspace)).stderr
    assert "Nothing to clean up" in xpm("cleanup", "--workdir", str(workspace)).stdout


def test_stray_jobs_are_killed_once_confirmed_and_running_experiments_are_skipped(tmp_path):
    workspace = tmp_path / "ws"
    folder = start_and_kill_driver(write_plan(tmp_path, "Wait.C().submit()", name="wait.py"), workspace, "xp")
    # The next run of the experiment no longer submits the job: nobody follows it now.
    assert run_driver(write_plan(tmp_path, "Step.C(index=1).submit()", name="step.py"), workspace, "xp").returncode == 0
    pid = job_pid(folder, "wait")
    # Another experiment whose driver runs: skipped, its job left alone.
    live = start_driver(write_plan(tmp_path, "Step.C(index=2, sleep=60).submit()", name="live.py"), workspace, "live")
    try:
        wait_for(lambda: list(workspace.glob("jobs/tasks.step/*/step.pid")), "the live job to start")

        asked = xpm("cleanup", "--workdir", str(workspace))  # no terminal to confirm
        assert asked.returncode == 0, asked.stderr
        assert "Skipping experiment live: its driver is running." in asked.stdout
        assert "1 stray job(s)" in asked.stdout and f"RUNNING tasks.wait/{folder.name}" in asked.stdout
        assert "tasks.step/" not in asked.stdout
        assert "run again with --yes" in asked.stderr
        assert process_alive(pid, None)

        killed = xpm("cleanup", "--yes", "--workdir", str(workspace))
        assert killed.returncode == 0, killed.stderr
        assert f"killed tasks.wait/{folder.name}" in killed.stdout
        wait_for(lambda: not process_alive(pid, None), "the stray job to be killed")
        assert live.poll() is None
    finally:
        live.kill()
        live.wait()
        for pid_file in workspace.glob("jobs/tasks.step/*/step.pid"):
            os.killpg(int(json.loads(pid_file.read_text())["pid"]), signal.SIGKILL)


def test_orphan_partials_are_deleted_once_confirmed(tmp_path):
    workspace = tmp_path / "ws"
    assert run_driver(write_plan(tmp_path, "Step.C(index=1).submit()"), workspace, "xp").returncode == 0
    orphan = workspace / "partials" / "tasks.learn" / "checkpoints" / ("ab" * 32)
    orphan.mkdir(parents=True)
    (orphan / "model.bin").write_text("weights")

    listed = xpm("cleanup", "--dry-run", "--workdir", str(workspace))
    assert "1 orphan partial folder(s)" in listed.stdout and f"partials/tasks.learn/checkpoints/{'ab' * 32}" in listed.stdout
    assert "Dry run: nothing was changed." in listed.stdout and orphan.exists()
    deleted = xpm("cleanup", "-y", "--workdir", str(workspace))
    assert deleted.returncode == 0, deleted.stderr
    assert not orphan.exists() and not (workspace / "partials" / "tasks.learn").exists()
