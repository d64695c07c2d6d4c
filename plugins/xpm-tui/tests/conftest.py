"""Fixtures of xpm-tui's tests: workspaces made by running a real experiment, and tmux (required in CI)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

# --import-mode=importlib does not put this folder on sys.path: the tests import tui_support.
sys.path.insert(0, str(Path(__file__).parent))

from tui_support import run_driver  # noqa: E402

#: CI sets it: a missing tmux is then a failure, not a skip.
REQUIRE_ENV = "XPM_REQUIRE_TMUX"


@pytest.fixture(scope="session")
def grid_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after the experiment ``grid``: four trainings done (tags learning_rate, size), one failure.

    Shared by the tests that only read it.
    """
    folder = tmp_path_factory.mktemp("grid")
    workspace = folder / "workspace"
    run_driver(folder, workspace, "grid")
    return workspace


@pytest.fixture
def own_grid_workspace(tmp_path: Path) -> Path:
    """A workspace of its own after the experiment ``grid``, for a test that changes it."""
    workspace = tmp_path / "workspace"
    run_driver(tmp_path, workspace, "grid")
    return workspace


@pytest.fixture
def tmux() -> str:
    """The tmux program; skips the test without it, or fails it when XPM_REQUIRE_TMUX=1."""
    program = shutil.which("tmux")
    if program is not None:
        return program
    problem = "tmux is not installed (plugins/xpm-tui/ci/start-tmux.sh installs it, as root)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {problem}")
    pytest.skip(problem)
