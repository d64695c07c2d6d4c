"""What must survive: a killed driver, concurrent drivers, cancelled jobs, timeouts, broken monitors."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter

from runtime_support import executions, run_driver, start_driver, wait_for, write_plan

STEPS = """
for index in range(6):
    Step.C(index=index, sleep=0.5).submit(launcher=DirectLauncher(max_running=2))
"""


def started_steps(workspace) -> int:
    return sum(line.startswith("start step") for line in executions(workspace))


def test_killing_the_driver_leaves_jobs_running_and_a_rerun_follows_them(tmp_path):
    plan, workspace = write_plan(tmp_path, STEPS), tmp_path / "ws"
    driver = start_driver(plan, workspace, "steps")
    wait_for(lambda: started_steps(workspace) >= 2, "two steps to start")
    driver.kill()  # SIGKILL: no cleanup at all
    driver.wait()
    result = run_driver(plan, workspace, "steps")
    assert result.returncode == 0, result.stderr
    assert "FAILED 0" in result.stdout
    counts = Counter(executions(workspace))
    assert {counts[f"end step {i}"] for i in range(6)} == {1}  # every step ran exactly once
    assert {counts[f"start step {i}"] for i in range(6)} == {1}


def test_two_drivers_sharing_jobs_run_each_job_once(tmp_path):
    first = write_plan(tmp_path, "for i in range(0, 6):\n    Step.C(index=i, sleep=0.2).submit()", "first.py")
    second = write_plan(tmp_path, "for i in range(3, 9):\n    Step.C(index=i, sleep=0.2).submit()", "second.py")
    workspace = tmp_path / "ws"
    drivers = [start_driver(first, workspace, "first"), start_driver(second, workspace, "second")]
    outputs = [driver.communicate(timeout=120) for driver in drivers]
    for driver, (stdout, stderr) in zip(drivers, outputs):
        assert driver.returncode == 0, stderr
        assert "FAILED 0" in stdout
    counts = Counter(executions(workspace))
    assert {counts[f"end step {i}"] for i in range(9)} == {1}


def test_at_most_max_running_jobs_run_at_once(tmp_path):
    plan, workspace = write_plan(tmp_path, STEPS), tmp_path / "ws"
    assert run_driver(plan, workspace, "steps").returncode == 0
    running, peak = 0, 0
    for line in executions(workspace):
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    assert peak == 2


def test_sigterm_in_a_job_marks_it_cancelled(tmp_path):
    plan, workspace = write_plan(tmp_path, "Wait.C().submit()"), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    [job_dir] = (workspace / "jobs" / "tasks.wait").iterdir()
    pid = json.loads((job_dir / "wait.pid").read_text())["pid"]
    os.kill(int(pid), signal.SIGTERM)
    stdout, stderr = driver.communicate(timeout=60)
    assert "FAILED 1" in stdout
    assert json.loads((job_dir / "wait.failed").read_text())["reason"] == "cancelled"
    assert "failed (cancelled): tasks.wait/" in stderr


def test_a_resumable_task_that_times_out_is_restarted(tmp_path):
    plan, workspace = write_plan(tmp_path, "Resume.C(attempts=3).submit()"), tmp_path / "ws"
    result = run_driver(plan, workspace, "resume")
    assert "FAILED 0" in result.stdout, result.stderr
    assert executions(workspace) == ["resume attempt 1", "resume attempt 2", "resume attempt 3"]
    [job_dir] = (workspace / "jobs" / "tasks.resume").iterdir()
    assert (job_dir / "resume.done").exists()
    assert len(list(job_dir.glob("resume.*.err"))) >= 1  # earlier attempts' logs are kept


def test_a_resumable_task_stops_after_max_retries(tmp_path):
    plan = write_plan(tmp_path, "Resume.C(attempts=10).submit(max_retries=1)")
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "resume")
    assert "FAILED 1" in result.stdout
    assert executions(workspace) == ["resume attempt 1", "resume attempt 2"]
    assert "failed (timeout): tasks.resume/" in result.stderr


def test_ctrl_c_in_the_driver_leaves_jobs_running(tmp_path):
    plan, workspace = write_plan(tmp_path, "Wait.C().submit()"), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    driver.send_signal(signal.SIGINT)
    stdout, stderr = driver.communicate(timeout=60)
    assert "1 job(s) keep running" in stderr
    assert "Traceback" not in stderr
    run_dir = workspace / "experiments" / "wait" / os.readlink(workspace / "experiments" / "wait" / "current")
    assert json.loads((run_dir / "status.json").read_text())["status"] == "detached"
    [job_dir] = (workspace / "jobs" / "tasks.wait").iterdir()
    pid = int(json.loads((job_dir / "wait.pid").read_text())["pid"])
    os.kill(pid, 0)  # still alive
    os.killpg(pid, signal.SIGKILL)


def test_a_second_driver_of_the_same_experiment_waits_and_says_who_holds_it(tmp_path):
    plan, workspace = write_plan(tmp_path, "Step.C(index=1, sleep=1.5).submit()"), tmp_path / "ws"
    first = start_driver(plan, workspace, "same")
    wait_for(lambda: started_steps(workspace) >= 1, "the first driver's job to start")
    second = start_driver(plan, workspace, "same")
    _, first_err = first.communicate(timeout=60)
    stdout, stderr = second.communicate(timeout=60)
    assert "experiment same is already running (host " in stderr
    assert f"pid {first.pid}" in stderr
    assert "FAILED 0" in stdout
    assert Counter(executions(workspace))["end step 1"] == 1
