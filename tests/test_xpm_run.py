"""``xpm run PARAMS_JSON`` runs a job's task by hand, in-process, without lock or marker."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from cli_support import one_line_error, xpm
from runtime_support import driver_env, executions, run_driver, write_plan

from xpm_core import from_task_dir


def generated(tmp_path: Path, body: str, task: str) -> tuple[Path, Path]:
    plan, workspace = write_plan(tmp_path, body), tmp_path / "ws"
    result = run_driver(plan, workspace, "by-hand", "generate")
    assert result.returncode == 0, result.stderr
    [job_dir] = (workspace / "jobs" / f"tasks.{task}").iterdir()
    return workspace, job_dir


def run_by_hand(workspace: Path, target: Path, cwd: Path) -> "object":
    env = driver_env(workspace)
    return xpm("run", str(target), cwd=cwd, XPM_TEST_LOG=env["XPM_TEST_LOG"])


def test_xpm_run_executes_the_task_without_lock_or_marker(tmp_path):
    workspace, job_dir = generated(tmp_path, "Step.C(index=7).submit()", "step")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A driver holding the job lock does not stop a run by hand (no lock is taken).
    fd = os.open(job_dir / "step.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # run from another folder: the job script tells where the task's module lives
        result = run_by_hand(workspace, job_dir / "params.json", elsewhere)
    finally:
        os.close(fd)
    assert result.returncode == 0, result.stderr
    assert executions(workspace) == ["start step 7", "end step 7"]
    assert "no marker written" in result.stderr
    assert not (job_dir / "step.done").exists() and not (job_dir / "step.failed").exists()


def test_xpm_run_accepts_the_job_folder(tmp_path):
    workspace, job_dir = generated(tmp_path, "Step.C(index=2).submit()", "step")
    assert run_by_hand(workspace, job_dir, tmp_path).returncode == 0
    assert executions(workspace) == ["start step 2", "end step 2"]


def test_a_failing_task_shows_its_traceback_and_exits_1(tmp_path):
    workspace, job_dir = generated(tmp_path, "Fail.C(code=5).submit()", "fail")
    result = run_by_hand(workspace, job_dir / "params.json", tmp_path)
    assert result.returncode == 1
    assert "RuntimeError: failing on purpose (5)" in result.stderr
    assert "the task failed" in result.stderr
    assert not (job_dir / "fail.failed").exists()


def test_bad_params_files_are_usage_errors(tmp_path):
    missing = xpm("run", str(tmp_path / "nowhere" / "params.json"))
    assert missing.returncode == 2 and "does not exist" in one_line_error(missing)

    other = tmp_path / "other.json"
    other.write_text("{}")
    assert "is not a params.json file" in one_line_error(xpm("run", str(other)))

    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "params.json").write_text("{not json")
    bad = xpm("run", str(folder / "params.json"))
    assert bad.returncode == 2 and "is not readable JSON" in one_line_error(bad)

    (folder / "params.json").write_text(json.dumps({"version": 3, "objects": []}))
    assert "no \"objects\" list" in one_line_error(xpm("run", str(folder)))


def test_a_task_module_that_cannot_be_imported_is_explained(tmp_path):
    workspace, job_dir = generated(tmp_path, "Step.C(index=1).submit()", "step")
    (tmp_path / "tasks.py").unlink()
    result = xpm("run", str(job_dir / "params.json"), cwd=tmp_path)
    assert "cannot rebuild the task" in one_line_error(result)
    assert "importable" in result.stderr


def test_a_newer_params_format_is_refused(tmp_path):
    workspace, job_dir = generated(tmp_path, "Step.C(index=1).submit()", "step")
    params = json.loads((job_dir / "params.json").read_text())
    params["version"] = 99
    (job_dir / "params.json").write_text(json.dumps(params))
    result = xpm("run", str(job_dir / "params.json"), cwd=tmp_path)
    assert "format version 99" in one_line_error(result)


def test_from_task_dir_reloads_the_configuration(tmp_path, monkeypatch):
    workspace, job_dir = generated(tmp_path, "Step.C(index=4, sleep=0.5).submit()", "step")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = from_task_dir(job_dir)
    assert config.index == 4
    assert config.__identifier__().all.hex() == job_dir.name
