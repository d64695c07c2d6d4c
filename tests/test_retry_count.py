"""A resumable job's retry count is kept in its folder: a new driver knows the retries left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runtime_support import driver_env, executions, run_driver, wait_for, write_plan

from xpm_core.workspace.disk import read_job

FLAKY = '''
import os, time
from pathlib import Path
from xpm_core import ResumableTask, Param
from xpm_core.runtime.errors import GracefulTimeout


class Flaky(ResumableTask):
    """Every attempt times out; attempt ``hold`` first waits for a 'release' file in its folder."""
    hold: Param[int]

    def execute(self):
        tries = Path("tries")
        count = int(tries.read_text()) + 1 if tries.exists() else 1
        tries.write_text(str(count))
        with open(os.environ["XPM_TEST_LOG"], "a") as log:
            log.write(f"attempt {count} {time.time()}\\n")
        if count == self.hold:
            Path("holding").touch()
            deadline = time.monotonic() + 120
            while not Path("release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        raise GracefulTimeout(f"attempt {count}: out of time")
'''


def flaky_plan(tmp_path: Path, max_retries: int, hold: int = 0) -> Path:
    plan = write_plan(tmp_path, f"Flaky.C(hold={hold}).submit(max_retries={max_retries})",
                      name=f"plan{max_retries}.py")
    (tmp_path / "flaky.py").write_text(FLAKY)
    plan.write_text(plan.read_text().replace("from tasks import *", "from tasks import *\nfrom flaky import Flaky"))
    return plan


def retry_count(job_dir: Path) -> int:
    return json.loads((job_dir / ".experimaestro" / "status.json").read_text())["retry_count"]


def test_a_new_driver_continues_the_count_of_a_killed_one(tmp_path):
    plan, workspace = flaky_plan(tmp_path, max_retries=2, hold=2), tmp_path / "ws"
    driver = subprocess.Popen([sys.executable, str(plan), str(workspace), "flaky"], cwd=tmp_path,
                              env=driver_env(workspace), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list(workspace.glob("jobs/flaky.flaky/*/holding")), "the second attempt")
    finally:
        driver.kill()  # the driver dies; its job keeps running
        driver.communicate()
    [job_dir] = (workspace / "jobs" / "flaky.flaky").iterdir()
    assert retry_count(job_dir) == 1
    (job_dir / "release").touch()
    wait_for(lambda: (job_dir / "flaky.failed").exists(), "the second attempt to time out")

    # The second attempt's timeout is retry 2 of 2: one attempt more, then no retry is left.
    result = run_driver(plan, workspace, "flaky")
    assert "FAILED 1" in result.stdout, result.stderr
    assert executions(workspace) == ["attempt 1", "attempt 2", "attempt 3"]
    assert retry_count(job_dir) == 2
    assert read_job(job_dir, "flaky.flaky", job_dir.name).retry_count == 2


def test_a_new_driver_does_not_restart_a_job_without_retries_left(tmp_path):
    workspace = tmp_path / "ws"
    first = run_driver(flaky_plan(tmp_path, max_retries=1), workspace, "flaky")
    assert "FAILED 1" in first.stdout, first.stderr
    assert executions(workspace) == ["attempt 1", "attempt 2"]
    [job_dir] = (workspace / "jobs" / "flaky.flaky").iterdir()
    assert retry_count(job_dir) == 1

    again = run_driver(flaky_plan(tmp_path, max_retries=1), workspace, "flaky")
    assert "FAILED 1" in again.stdout, again.stderr
    assert "no retry left (1 of max_retries=1)" in again.stderr
    assert executions(workspace) == ["attempt 1", "attempt 2"]

    # a higher max_retries gives the job its remaining retries
    more = run_driver(flaky_plan(tmp_path, max_retries=2), workspace, "flaky")
    assert "FAILED 1" in more.stdout, more.stderr
    assert executions(workspace) == ["attempt 1", "attempt 2", "attempt 3"]
    assert retry_count(job_dir) == 2
