"""What users see when SSH goes wrong: unknown or changed host keys, refused keys, unreachable
hosts, a missing remote interpreter, and a server restarted while jobs run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from xpm_core.plugin import JobLaunch, ProcessStatus, get_registry
from xpm_ssh import SshAuthenticationError, SshConnector, SshError, SshHostKeyError, SshUnreachableError

pytestmark = pytest.mark.usefixtures("fresh_sessions")


def write_config(tmp_path: Path, server, **changes: str) -> str:
    """An ssh_config for the test server with some settings changed."""
    settings = {
        "HostName": server.host,
        "Port": str(server.port),
        "User": server.user,
        "IdentityFile": server.key,
        "IdentitiesOnly": "yes",
        "UserKnownHostsFile": server.known_hosts,
        **changes,
    }
    path = tmp_path / "ssh_config"
    path.write_text("Host target\n" + "".join(f"    {key} {value}\n" for key, value in settings.items()))
    return str(path)


def test_unknown_host_key_is_refused_with_how_to_trust_it(ssh_server, tmp_path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    connector = SshConnector("target", ssh_config=write_config(tmp_path, ssh_server, UserKnownHostsFile=str(empty)))
    with pytest.raises(SshHostKeyError) as error:
        connector.exists("/")
    message = str(error.value)
    assert "target" in message and "not in known_hosts" in message and "ssh-keyscan" in message


def test_changed_host_key_is_refused(ssh_server, tmp_path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{ssh_server.host}]:{ssh_server.port} {' '.join(other)}\n")
    connector = SshConnector("target", ssh_config=write_config(tmp_path, ssh_server, UserKnownHostsFile=str(known)))
    with pytest.raises(SshHostKeyError, match="differs from the one in known_hosts.*ssh-keygen -R"):
        connector.exists("/")


def test_refused_key_names_the_host(ssh_server, tmp_path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "stranger")], check=True)
    config = write_config(tmp_path, ssh_server, IdentityFile=str(tmp_path / "stranger"))
    with pytest.raises(SshAuthenticationError, match="target.*refused the keys.*authorized_keys"):
        SshConnector("target", ssh_config=config).exists("/")


def test_unreachable_host_is_one_clear_error(ssh_server, tmp_path) -> None:
    config = write_config(tmp_path, ssh_server, Port="1")  # nothing listens on port 1
    started = time.monotonic()
    with pytest.raises(SshUnreachableError, match="cannot reach SSH host target"):
        SshConnector("target", ssh_config=config).run(["true"])
    assert time.monotonic() - started < 10


def test_missing_remote_interpreter_fails_before_any_job(ssh_server) -> None:
    connector = SshConnector(**ssh_server.connector_options(), python="/nowhere/python3")
    with pytest.raises(SshError, match="xpm-ssh-ci.*'/nowhere/python3' cannot run xpm"):
        connector.interpreter()
    good = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    assert good.interpreter() == sys.executable


def _session_processes(master: int) -> list[int]:
    """The sshd processes serving connections: children of the listening sshd."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_server_restart_mid_run_keeps_the_job(ssh_server, tmp_path) -> None:
    """The connection drops and the server is down: the job is unknown, then followed again to its end."""
    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    launcher = get_registry().launchers()["direct"].create(connector=connector)
    directory = PurePosixPath(tmp_path) / "job"
    connector.mkdir(directory)
    job = JobLaunch(
        job_id="f" * 64,
        task_id="ssh.restart",
        directory=directory,
        name="restart",
        command=(sys.executable, "-c", "import time; time.sleep(2); print('survived')"),
    )

    async def scenario() -> None:
        ref = await launcher.submit(job)
        assert (await launcher.poll([ref]))[ref.id].status is ProcessStatus.RUNNING
        master = int((ssh_server.directory / "sshd.pid").read_text())
        sessions = _session_processes(master)
        subprocess.run(
            ["bash", str(Path(__file__).parent.parent / "ci" / "stop-sshd.sh")], check=True, capture_output=True
        )
        for pid in sessions:  # the connection drops with the server
            os.kill(pid, 15)
        await asyncio.sleep(0.5)
        assert (await launcher.poll([ref]))[ref.id].status is ProcessStatus.UNKNOWN
        subprocess.run(
            ["bash", str(Path(__file__).parent.parent / "ci" / "start-sshd.sh")], check=True, capture_output=True
        )
        state = await asyncio.wait_for(launcher.wait(ref), 60)
        assert (state.status, state.exit_code) == (ProcessStatus.FINISHED, 0)

    asyncio.run(scenario())
    assert connector.read_text(job.stdout) == "survived\n"
    assert connector.session.connections_opened == 2  # the first one, and one after the restart


def test_try_once_locks_exclude_other_holders_and_die_with_the_connection(ssh_server, tmp_path) -> None:
    """The scheduler's "try once" locks (held by the lock keeper shell) exclude a job process
    holding the lock on the host, and are released when the connection drops."""
    import fcntl

    path = tmp_path / "job.lock"
    connector = SshConnector(**ssh_server.connector_options())
    with open(path, "w") as held:  # a job process on the host holds its lock
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(TimeoutError):
            with connector.lock(str(path), timeout=0):
                pass
    with connector.lock(str(path), timeout=0):
        with open(path, "w") as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            connector.session.mark_broken()  # the connection drops while the driver holds it
            deadline = time.monotonic() + 10
            while True:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, "the lock outlived the connection"
                    time.sleep(0.05)


def test_proxyjump_of_ssh_config_is_followed_with_strict_keys(ssh_server, tmp_path) -> None:
    """A host reached through a jump host (here the test server jumping to itself)."""
    config = tmp_path / "ssh_config"
    config.write_text(
        Path(ssh_server.ssh_config).read_text()
        + f"\nHost behind-jump\n    HostName 127.0.0.1\n    Port {ssh_server.port}\n    User {ssh_server.user}\n"
        f"    IdentityFile {ssh_server.key}\n    IdentitiesOnly yes\n    UserKnownHostsFile {ssh_server.known_hosts}\n"
        f"    ProxyJump {ssh_server.alias}\n"
    )
    connector = SshConnector("behind-jump", ssh_config=str(config))
    assert connector.run(["sh", "-c", "echo $SSH_CONNECTION"]).stdout.split()[0] == "127.0.0.1"
    assert connector.session._connection.gateway is not None  # noqa: SLF001 - it went through the jump host


def test_named_hosts_of_settings_yaml(ssh_server, tmp_path, monkeypatch) -> None:
    """``connectors: ssh: NAME:`` in settings.yaml gives a name its options; an unknown option is an error."""
    (tmp_path / "settings.yaml").write_text(
        f"connectors:\n  ssh:\n    lab:\n      host: {ssh_server.alias}\n      ssh_config: {ssh_server.ssh_config}\n"
        f"      python: {sys.executable}\n    typo:\n      hots: x\n"
    )
    monkeypatch.setenv("XPM_CONFIG_DIR", str(tmp_path))
    lab = SshConnector("lab")
    assert lab.to_spec() == {"host": ssh_server.alias, "ssh_config": ssh_server.ssh_config, "python": sys.executable}
    assert lab.interpreter() == sys.executable
    with pytest.raises(SshError, match="connectors.ssh.typo: unknown option.*hots"):
        SshConnector("typo")
