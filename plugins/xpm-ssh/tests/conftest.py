"""Fixtures of xpm-ssh's tests: the real OpenSSH server of ci/start-sshd.sh (required in CI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import attrs
import pytest

#: CI sets it: a missing server is then a failure, not a skip.
REQUIRE_ENV = "XPM_REQUIRE_SSH"
STATE_DIR = Path(os.environ.get("XPM_SSH_CI_DIR", "/tmp/xpm-ssh-ci"))
CI_DIR = Path(__file__).resolve().parent.parent / "ci"
# The tests' helper modules (big_workspace) are imported by name, by the tests and the benchmark.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@attrs.frozen
class SshServer:
    """The test server, as ci/start-sshd.sh describes it in server.env."""

    host: str
    port: int
    user: str
    key: str
    known_hosts: str
    ssh_config: str
    alias: str
    directory: Path

    def connector_options(self) -> dict[str, object]:
        """Options of an SshConnector reaching it through its ssh_config alias."""
        return {"host": self.alias, "ssh_config": self.ssh_config}

    def restart(self) -> None:
        """Stop the server, then start it again (what an administrator's restart does)."""
        subprocess.run(["bash", str(CI_DIR / "stop-sshd.sh")], check=True, capture_output=True)
        subprocess.run(["bash", str(CI_DIR / "start-sshd.sh")], check=True, capture_output=True)


def server_problem() -> str | None:
    """Why the test server cannot be used, or None when it accepts connections."""
    env_file = STATE_DIR / "server.env"
    if not env_file.is_file():
        return f"{env_file} is missing (start the server with plugins/xpm-ssh/ci/start-sshd.sh, as root)"
    env = _read_env(env_file)
    try:
        with socket.create_connection((env["XPM_SSH_CI_HOST"], int(env["XPM_SSH_CI_PORT"])), timeout=5):
            pass
    except OSError as exc:
        return f"nothing answers on {env['XPM_SSH_CI_HOST']}:{env['XPM_SSH_CI_PORT']} ({exc})"
    return None


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().split())


@pytest.fixture(scope="session")
def ssh_server() -> SshServer:
    """The real sshd; skips the test when it is absent, or fails it when XPM_REQUIRE_SSH=1."""
    problem = server_problem()
    if problem is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but the SSH test server is not usable: {problem}")
        pytest.skip(f"no SSH test server: {problem}")
    env = _read_env(STATE_DIR / "server.env")
    return SshServer(
        host=env["XPM_SSH_CI_HOST"],
        port=int(env["XPM_SSH_CI_PORT"]),
        user=env["XPM_SSH_CI_USER"],
        key=env["XPM_SSH_CI_KEY"],
        known_hosts=env["XPM_SSH_CI_KNOWN_HOSTS"],
        ssh_config=env["XPM_SSH_CI_SSH_CONFIG"],
        alias=env["XPM_SSH_CI_ALIAS"],
        directory=STATE_DIR,
    )


@pytest.fixture
def fresh_sessions() -> Iterator[None]:
    """Close this process's SSH sessions before and after a test that counts or breaks them."""
    from xpm_ssh import session

    for s in session.all_sessions():
        s.close()
    session._sessions.clear()
    yield
    for s in session.all_sessions():
        s.close()
    session._sessions.clear()
