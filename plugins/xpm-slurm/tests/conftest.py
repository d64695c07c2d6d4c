"""Fixtures of xpm-slurm's tests: the real Slurm cluster (required in CI) and a command-counting connector."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import PurePosixPath
from typing import Any, Sequence

import pytest

from xpm_core import LocalConnector
from xpm_core.plugin import CommandResult

#: CI sets it: a missing cluster is then a failure, not a skip.
REQUIRE_ENV = "XPM_REQUIRE_SLURM"


def cluster_problem() -> str | None:
    """Why the Slurm cluster cannot be used here, or None when sinfo answers."""
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return "sinfo is not installed (start one with plugins/xpm-slurm/ci/start-slurm.sh, as root)"
    try:
        result = subprocess.run(
            [sinfo, "--noheader", "--format=%P"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 20 s"
    if result.returncode != 0:
        return f"sinfo failed: {(result.stderr or result.stdout).strip()}"
    if "debug" not in result.stdout:
        return f"no partition 'debug' (not the cluster of ci/start-slurm.sh): {result.stdout.strip()!r}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skips the test when no Slurm cluster answers, or fails it when XPM_REQUIRE_SLURM=1."""
    problem = cluster_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the Slurm cluster is not usable: {problem}")
    pytest.skip(f"no Slurm cluster: {problem}")


class CountingConnector(LocalConnector):
    """The local connector, counting the commands it runs by program name (sbatch, sacct ...)."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__(path)
        self.calls: Counter[str] = Counter()

    def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
        self.calls[PurePosixPath(args[0]).name] += 1
        return super().run(args, **kwargs)


@pytest.fixture
def counting_connector() -> CountingConnector:
    return CountingConnector()
