"""Helpers for the CLI tests: run the real ``xpm`` in a child process, and workspaces built by real runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from runtime_support import run_driver, write_plan

#: Two experiments: "grid" (4 trainings, 4 evaluations, all done), "failing" (one done, one error);
#: and "old", whose folder is deleted afterwards so that its two jobs are orphans.
GRID = """
for lr in [0.1, 0.01]:
    for size in [128, 256]:
        model = Model.C(name="transformer", hidden_size=tag(size))
        trained = Train.C(model=model, learning_rate=tag(lr)).submit()
        Evaluate.C(trained=trained).submit()
"""
FAILING = """
Fail.C(code=1).submit()
Train.C(model=Model.C(name="small", hidden_size=8), learning_rate=0.5).submit()
"""
OLD = """
for index in [1, 2]:
    Step.C(index=index).submit()
"""

_built: dict[str, Path] = {}


def xpm(*args: str, config_dir: Optional[Path] = None, cwd: Optional[Path] = None,
        stdin: Optional[str] = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m xpm_core ARGS`` with only the core's commands and an empty (or given) config folder."""
    environment = dict(os.environ)
    environment["XPM_LOAD_PLUGINS"] = ""
    environment.pop("XPM_DEBUG", None)
    if config_dir is not None:
        environment["XPM_CONFIG_DIR"] = str(config_dir)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "xpm_core", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        input=stdin if stdin is not None else "",
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed; fails when it shows a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (1, 2), (result.returncode, result.stdout, result.stderr)
    return result.stderr


def built_workspace(tmp_path_factory) -> Path:
    """The workspace of GRID, FAILING and (deleted) OLD, built once per test session. Do not modify it."""
    if "workspace" not in _built:
        root = tmp_path_factory.mktemp("cli-workspace")
        workspace = root / "ws"
        for name, body in (("grid", GRID), ("failing", FAILING), ("old", OLD)):
            plan = write_plan(root, body, name=f"{name}.py")
            result = run_driver(plan, workspace, name)
            assert result.returncode == 0, result.stderr
        shutil.rmtree(workspace / "experiments" / "old")
        _built["workspace"] = workspace
    return _built["workspace"]


def copy_workspace(source: Path, destination: Path) -> Path:
    """A copy of a workspace that a test may change (links copied as links)."""
    shutil.copytree(source, destination, symlinks=True)
    return destination


def job_dirs(workspace: Path, task_id: str) -> list[Path]:
    return sorted((workspace / "jobs" / task_id).iterdir())
