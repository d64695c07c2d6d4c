"""Fixtures of xpm-oar's tests: the real OAR cluster (required in CI), its submit user, job folders."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Sequence

import pytest

from xpm_core import LocalConnector
from xpm_core.plugin import CommandResult

#: CI sets it: a missing cluster is then a failure, not a skip.
REQUIRE_ENV = "XPM_REQUIRE_OAR"
#: The unprivileged user jobs are submitted as when the tests run as root (ci/start-oar.sh makes it).
SUBMIT_USER = os.environ.get("XPM_OAR_CI_USER", "xpmoar")


def submit_user() -> str | None:
    """The submit user the launcher needs: OAR refuses root's jobs."""
    return SUBMIT_USER if os.geteuid() == 0 else None


def cluster_problem() -> str | None:
    """Why the OAR cluster cannot be used here, or None when it answers."""
    if shutil.which("oarnodes") is None or shutil.which("oarsub") is None:
        return "OAR is not installed (start it with plugins/xpm-oar/ci/start-oar.sh, as root)"
    try:
        result = subprocess.run(["oarnodes", "-s"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "oarnodes did not answer within 30 s"
    if result.returncode != 0 or "Alive" not in result.stdout:
        return f"no Alive OAR resource: {(result.stderr or result.stdout).strip()!r}"
    user = submit_user()
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"the submit user {user} does not exist (ci/start-oar.sh creates it)"
    return None


@pytest.fixture(scope="session")
def oar_cluster() -> None:
    """Skips the test when no OAR cluster answers, or fails it when XPM_REQUIRE_OAR=1."""
    problem = cluster_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the OAR cluster is not usable: {problem}")
    pytest.skip(f"no OAR cluster: {problem}")


def job_python() -> str:
    """An interpreter the submit user can run (the test's own may live under /root)."""
    user = submit_user()
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        if user is None:
            return candidate
        check = subprocess.run(["runuser", "-u", user, "--", candidate, "-c", ""], capture_output=True)
        if check.returncode == 0:
            return candidate
    return "/usr/bin/python3"


@pytest.fixture(scope="session")
def oar_root() -> Iterator[Path]:
    """A folder for job folders that the submit user can reach (pytest's tmp_path is root's only)."""
    root = Path(tempfile.mkdtemp(prefix="xpm-oar-tests-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def job_root(oar_root: Path, request: pytest.FixtureRequest) -> Path:
    """This test's own folder under ``oar_root``."""
    path = Path(tempfile.mkdtemp(prefix=request.node.name[:40] + "-", dir=oar_root))
    path.chmod(0o755)
    return path


class CountingConnector(LocalConnector):
    """The local connector, counting the commands it runs by program (``runuser -u U --`` skipped)."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__(path)
        self.calls: Counter[str] = Counter()

    def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
        program = list(args)
        if program[:1] == ["runuser"] and "--" in program:
            program = program[program.index("--") + 1 :]
        self.calls[PurePosixPath(program[0]).name] += 1
        return super().run(args, **kwargs)


@pytest.fixture
def counting_connector() -> CountingConnector:
    return CountingConnector()


class LosingConnector(CountingConnector):
    """Runs the first oarsub, then loses its answer (a time-out), as a flaky link to a frontend would."""

    lost = False

    def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
        result = super().run(args, **kwargs)
        if not self.lost and any(PurePosixPath(arg).name == "oarsub" for arg in args):
            self.lost = True
            raise TimeoutError("oarsub timed out")
        return result


@pytest.fixture
def losing_connector() -> LosingConnector:
    return LosingConnector()


@pytest.fixture(scope="session")
def oar_submit_user() -> str | None:
    return submit_user()


@pytest.fixture(scope="session")
def oar_python() -> str:
    return job_python()
