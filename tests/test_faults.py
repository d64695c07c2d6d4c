"""After a fault the workspace tells the truth: jobs killed from outside, drivers killed or terminated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from runtime_support import driver_env, start_driver, wait_for, write_plan

WAIT = "Wait.C().submit()"
# One long job running, two queued behind it (one at a time).
QUEUE = """
for index in range(3):
    Step.C(index=index, sleep=60).submit(launcher=DirectLauncher(max_running=1))
"""


def xpm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpm_core", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def job_dir(workspace: Path, task: str) -> Path:
    [folder] = (workspace / "jobs" / f"tasks.{task}").iterdir()
    return folder


def job_pid(folder: Path, name: str) -> int:
    return int(json.loads((folder / f"{name}.pid").read_text())["pid"])


def kill_job(folder: Path, name: str) -> None:
    """``kill -9`` the job's process group: no marker, no cleanup."""
    pid = job_pid(folder, name)
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), "the job process to die")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def run_status(workspace: Path, name: str) -> str:
    current = workspace / "experiments" / name / "current"
    return json.loads((current / "status.json").read_text())["status"]


def test_a_job_killed_while_its_driver_follows_it_ends_failed_with_the_signal(tmp_path):
    plan, workspace = write_plan(tmp_path, WAIT), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    folder = job_dir(workspace, "wait")
    kill_job(folder, "wait")
    stdout, stderr = driver.communicate(timeout=60)
    assert "FAILED 1" in stdout, stderr
    failure = json.loads((folder / "wait.failed").read_text())
    assert failure["reason"] == "killed" and failure["signal"] == "SIGKILL"
    assert "without a completion marker" in failure["message"]
    listed = xpm("jobs", "list", "--workdir", str(workspace))
    assert listed.stdout.split()[0] == "ERROR"


def test_a_job_killed_after_its_driver_died_is_failed_for_every_command(tmp_path):
    plan, workspace = write_plan(tmp_path, WAIT), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    driver.kill()
    driver.wait()
    folder = job_dir(workspace, "wait")
    listed = xpm("jobs", "list", "--workdir", str(workspace))
    assert listed.stdout.split()[0] == "RUNNING"  # the job survives its driver
    kill_job(folder, "wait")
    assert (folder / "wait.pid").exists()  # stale: it must not make the job look alive

    listed = xpm("jobs", "list", "--workdir", str(workspace))
    assert listed.returncode == 0 and listed.stdout.split()[0] == "ERROR", listed
    failure = json.loads((folder / "wait.failed").read_text())
    assert failure["reason"] == "failed" and "without a completion marker" in failure["message"]
    experiments = xpm("experiments", "list", "--workdir", str(workspace))
    assert "(0/1 jobs) detached, 1 job in error" in experiments.stdout, experiments
    killed = xpm("jobs", "kill", "--perform", "--workdir", str(workspace))
    assert "no running job among the selected ones" in killed.stderr
    cleaned = xpm("jobs", "clean", "--workdir", str(workspace))
    assert "would delete ERROR" in cleaned.stdout
    synced = xpm("experiments", "sync", "--workdir", str(workspace))
    assert "(1 error)" in synced.stdout, synced
    assert xpm("jobs", "list", "--workdir", str(workspace)).stdout.split()[0] == "ERROR"


def test_a_rebuilt_index_never_records_a_dead_local_job_as_running(tmp_path):
    plan, workspace = write_plan(tmp_path, WAIT), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    driver.kill()
    driver.wait()
    kill_job(job_dir(workspace, "wait"), "wait")
    index_file = workspace / ".xpm" / "index.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_file}{suffix}").unlink(missing_ok=True)

    from xpm_core.workspace.index import WorkspaceIndex

    # The rebuild alone, before any reconciliation pass: its default liveness check of this
    # machine's processes sees that the NAME.pid process is gone.
    with WorkspaceIndex(workspace) as index:
        assert index.rebuilt_on_open
        assert index.execute("SELECT state, failure_reason FROM jobs") == [("error", "failed")]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_file}{suffix}").unlink(missing_ok=True)
    synced = xpm("experiments", "sync", "--workdir", str(workspace))
    assert "(1 error)" in synced.stdout, synced
    listed = xpm("jobs", "list", "--workdir", str(workspace))
    assert listed.returncode == 0 and listed.stdout.split()[0] == "ERROR", listed


def test_after_a_driver_kill_its_run_is_detached_and_its_queued_jobs_unscheduled(tmp_path):
    plan, workspace = write_plan(tmp_path, QUEUE), tmp_path / "ws"
    driver = start_driver(plan, workspace, "queue")
    wait_for(lambda: list(workspace.glob("jobs/tasks.step/*/step.pid")), "the first step to start")
    wait_for(lambda: (workspace / ".xpm" / "index.db").exists(), "the index")
    driver.kill()
    driver.wait()
    assert run_status(workspace, "queue") == "running"  # nobody recorded the end yet
    listed = xpm("jobs", "list", "--workdir", str(workspace))
    states = sorted(line.split()[0] for line in listed.stdout.splitlines())
    assert states == ["RUNNING", "UNSCHEDULED", "UNSCHEDULED"], listed
    assert run_status(workspace, "queue") == "detached"
    running = [f for f in (workspace / "jobs" / "tasks.step").iterdir() if (f / "step.pid").exists()]
    for folder in running:
        os.killpg(job_pid(folder, "step"), signal.SIGKILL)


def test_sigterm_and_sighup_end_the_driver_like_ctrl_c(tmp_path):
    plan = write_plan(tmp_path, WAIT)
    for number, signum in enumerate((signal.SIGTERM, signal.SIGHUP)):
        workspace = tmp_path / f"ws{number}"
        driver = start_driver(plan, workspace, "wait")
        wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
        driver.send_signal(signum)
        _, stderr = driver.communicate(timeout=60)
        assert f"xpm: received {signum.name}; 1 job(s) keep running" in stderr
        assert "Traceback" not in stderr
        assert run_status(workspace, "wait") == "detached"
        os.killpg(job_pid(job_dir(workspace, "wait"), "wait"), signal.SIGKILL)


def test_a_run_ends_recorded_as_it_ended_when_the_index_was_deleted_meanwhile(tmp_path):
    plan = write_plan(tmp_path, "Step.C(index=1, sleep=4.0).submit()")
    workspace = tmp_path / "ws"
    driver = start_driver(plan, workspace, "deleted")
    index = workspace / ".xpm" / "index.db"
    wait_for(lambda: list(workspace.glob("jobs/tasks.step/*/step.pid")) and index.exists(), "the step to start")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    assert "(0/1 jobs) running" in xpm("experiments", "list", "--workdir", str(workspace)).stdout
    stdout, stderr = driver.communicate(timeout=60)
    assert "FAILED 0" in stdout, stderr
    listed = xpm("experiments", "list", "--workdir", str(workspace))
    assert "(1/1 jobs) done" in listed.stdout, listed


def test_nested_experiments_are_refused(tmp_path):
    code = (
        "from xpm_core import experiment\n"
        "with experiment(r'%s', 'outer'):\n"
        "    with experiment(r'%s', 'inner'):\n"
        "        pass\n"
    ) % (tmp_path / "ws", tmp_path / "ws")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=driver_env(tmp_path / "ws"))
    assert result.returncode == 1
    assert "RuntimeError: experiment 'inner' cannot start inside experiment 'outer'" in result.stderr
    assert not (tmp_path / "ws" / "experiments" / "inner").exists()
