"""``xpm orphans PATH [--size] [--clean] [--show-all]`` on workspaces built by real runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
from cli_support import built_workspace, copy_workspace, job_dirs, one_line_error, xpm
from runtime_support import start_driver, wait_for, write_plan


@pytest.fixture
def workspace(tmp_path_factory, tmp_path) -> Path:
    """A copy of the built workspace, whose two "tasks.step" jobs are orphans (their experiment was deleted)."""
    return copy_workspace(built_workspace(tmp_path_factory), tmp_path / "ws")


def orphan_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "/" in line]


def test_lists_the_orphans(workspace):
    result = xpm("orphans", str(workspace))
    assert result.returncode == 0, result.stderr
    expected = [f"tasks.step/{path.name}  (done)" for path in job_dirs(workspace, "tasks.step")]
    assert orphan_lines(result.stdout) == expected
    assert result.stdout.splitlines()[-1] == "2 orphan job(s) of 12 job folders."


def test_show_all_marks_the_orphans(workspace):
    result = xpm("orphans", str(workspace), "--show-all")
    lines = orphan_lines(result.stdout)
    assert len(lines) == 12
    assert [line[2:] for line in lines if line.startswith("* ")] == orphan_lines(xpm("orphans", str(workspace)).stdout)
    assert sum(line.startswith("  tasks.") for line in lines) == 10


def test_size_shows_disk_usage_and_total(workspace):
    result = xpm("orphans", str(workspace), "--size")
    for line in orphan_lines(result.stdout):
        assert re.match(r"^ *\d+(\.\d)? (B|KiB|MiB)  tasks\.step/\w+  \(done\)$", line), line
    assert re.search(r"^2 orphan job\(s\) of 12 job folders, \d+(\.\d)? (B|KiB)\.$", result.stdout, re.M)


def test_clean_needs_a_confirmation(workspace):
    result = xpm("orphans", str(workspace), "--clean")  # stdin is not a terminal
    assert result.returncode == 2
    assert "there is no terminal to confirm: add --yes" in one_line_error(result)
    assert len(job_dirs(workspace, "tasks.step")) == 2


def test_clean_yes_deletes_only_the_orphans(workspace):
    before = {path.name for path in (workspace / "jobs").iterdir()}
    result = xpm("orphans", str(workspace), "--clean", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Deleted 2 orphan job folder(s)." in result.stdout
    assert not (workspace / "jobs" / "tasks.step").exists()
    assert {path.name for path in (workspace / "jobs").iterdir()} == before - {"tasks.step"}
    assert xpm("orphans", str(workspace)).stdout.startswith("No orphan job in")
    # the index forgot them too (without a rebuild)
    jobs = xpm("jobs", "list", "--workdir", str(workspace))
    assert jobs.returncode == 0, jobs.stderr
    assert "tasks.step" not in jobs.stdout and "tasks.train" in jobs.stdout


def test_bad_arguments(workspace, tmp_path):
    missing = xpm("orphans", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "does not exist" in one_line_error(missing)

    (tmp_path / "plain").mkdir()
    not_workspace = xpm("orphans", str(tmp_path / "plain"))
    assert not_workspace.returncode == 2
    assert "is not a workspace" in one_line_error(not_workspace)

    lone_yes = xpm("orphans", str(workspace), "--yes")
    assert lone_yes.returncode == 2
    assert "--yes confirms --clean" in one_line_error(lone_yes)


@pytest.fixture
def running_orphan(tmp_path):
    """A workspace whose only job runs (for two minutes) while its experiment folder is gone."""
    plan = write_plan(tmp_path, "Wait.C().submit()")
    workspace = tmp_path / "ws"
    driver = start_driver(plan, workspace, "waiting")
    job_pid = None
    try:
        wait_for(lambda: any(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
        driver.kill()  # jobs survive their driver
        driver.communicate()
        [job_dir] = job_dirs(workspace, "tasks.wait")
        job_pid = int(json.loads((job_dir / "wait.pid").read_text())["pid"])
        shutil.rmtree(workspace / "experiments" / "waiting")
        yield workspace, job_dir
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
        if job_pid is not None:
            try:
                os.kill(job_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_clean_never_deletes_a_running_job(running_orphan):
    workspace, job_dir = running_orphan
    result = xpm("orphans", str(workspace), "--clean", "--yes")
    assert result.returncode == 0, result.stderr
    assert f"tasks.wait/{job_dir.name}  (running)" in result.stdout
    assert f"Keeping tasks.wait/{job_dir.name}: it may still be running (running)." in result.stderr
    assert "Nothing to delete." in result.stdout
    assert job_dir.is_dir()
