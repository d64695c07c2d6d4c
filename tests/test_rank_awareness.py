"""In a multi-process job only rank 0 takes the job lock and writes the markers; other ranks just run."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import driver_env, executions, run_driver, write_plan

from xpm_core.runtime.rank import process_rank


def generated_job(tmp_path: Path) -> tuple[Path, Path]:
    """A job folder written by a real driver in generate mode: (workspace, job folder)."""
    plan, workspace = write_plan(tmp_path, "Step.C(index=1).submit()"), tmp_path / "ws"
    result = run_driver(plan, workspace, "ranks", "generate")
    assert result.returncode == 0, result.stderr
    [job_dir] = (workspace / "jobs" / "tasks.step").iterdir()
    return workspace, job_dir


def run_script(workspace: Path, job_dir: Path, **ranks: str) -> subprocess.CompletedProcess[str]:
    env = driver_env(workspace)
    for name in ("SLURM_PROCID", "RANK", "LOCAL_RANK"):
        env.pop(name, None)
    env.update(ranks)
    return subprocess.run([sys.executable, str(job_dir / "step.py")], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("variable", ["RANK", "LOCAL_RANK", "SLURM_PROCID"])
def test_a_secondary_rank_runs_the_task_without_lock_or_marker(tmp_path, variable):
    workspace, job_dir = generated_job(tmp_path)
    # Hold the job lock as rank 0 would: a secondary rank must not wait for it.
    fd = os.open(job_dir / "step.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = run_script(workspace, job_dir, **{variable: "1"})
    finally:
        os.close(fd)
    assert result.returncode == 0, result.stderr
    assert executions(workspace) == ["start step 1", "end step 1"]
    assert "rank 1" in result.stderr
    assert not (job_dir / "step.done").exists()
    assert not (job_dir / "step.failed").exists()
    assert not (job_dir / ".experimaestro" / "progress.json").exists()


def test_rank_zero_writes_the_markers(tmp_path):
    workspace, job_dir = generated_job(tmp_path)
    result = run_script(workspace, job_dir, RANK="0", LOCAL_RANK="0")
    assert result.returncode == 0, result.stderr
    assert (job_dir / "step.done").exists()


def test_a_failing_secondary_rank_exits_non_zero_without_marker(tmp_path):
    plan, workspace = write_plan(tmp_path, "Fail.C(code=3).submit()"), tmp_path / "ws"
    assert run_driver(plan, workspace, "ranks", "generate").returncode == 0
    [job_dir] = (workspace / "jobs" / "tasks.fail").iterdir()
    env = driver_env(workspace)
    env["SLURM_PROCID"] = "2"
    result = subprocess.run([sys.executable, str(job_dir / "fail.py")], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "failing on purpose (3)" in result.stderr
    assert not (job_dir / "fail.failed").exists()


def test_the_highest_rank_variable_decides():
    assert process_rank({}) == 0
    assert process_rank({"RANK": "0", "LOCAL_RANK": "0", "SLURM_PROCID": "0"}) == 0
    assert process_rank({"RANK": "0", "LOCAL_RANK": "3"}) == 3
    assert process_rank({"SLURM_PROCID": "not a number", "RANK": "2"}) == 2
