"""Remote monitoring over the real sshd: monitor-server started over SSH, and ``xpm experiments ssh-monitor``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from big_workspace import write_workspace

from xpm_core.plugin import FilterSyntaxError, JobPage, MonitorProtocolError
from xpm_ssh.monitor_command import open_remote_workspace

pytestmark = pytest.mark.usefixtures("fresh_sessions")


@pytest.fixture(scope="module")
def big_workspace(tmp_path_factory) -> Path:
    return write_workspace(tmp_path_factory.mktemp("remote") / "ws", 10_000)


def _open(ssh_server, path: Path, **options):
    return open_remote_workspace(
        ssh_server.alias, str(path), ssh_config=ssh_server.ssh_config, remote_python=sys.executable, **options
    )


def test_remote_workspace_answers_like_the_local_one(ssh_server, big_workspace) -> None:
    with _open(ssh_server, big_workspace) as remote:
        [experiment] = remote.experiments()
        assert experiment.experiment_id == "big" and experiment.latest.job_counts == {"done": 8571, "error": 1429}
        page = remote.jobs(limit=None)
        assert isinstance(page, JobPage) and page.total == 10_000 and len(page.jobs) == 10_000
        failed = remote.jobs(filter='@state = "error" and i < 100', limit=None)
        assert sorted(job.tags["i"] for job in failed.jobs) == list(range(0, 100, 7))
        with pytest.raises(FilterSyntaxError):
            remote.jobs(filter="@state ==")
        chunk = remote.log(failed.jobs[0].job_id, "stderr", offset=4, size=3)
        assert (chunk.text, chunk.next_offset) == (failed.jobs[0].job_id and chunk.text, 7)
        assert remote.runs("big")[0].job_count == 10_000
        assert remote.change_token() == remote.change_token()


def test_another_protocol_version_is_a_clear_error(ssh_server, big_workspace, tmp_path) -> None:
    # A "remote xpm" answering hello with another version, as an older or newer xpm would.
    fake = tmp_path / "old-xpm"
    fake.write_text(
        "#!/bin/sh\nread line\n"
        'echo \'{"jsonrpc":"2.0","id":1,"result":{"protocol":"xpm-monitor","version":0,"xpm":"0.0.9"}}\'\n'
    )
    fake.chmod(0o755)
    with pytest.raises(
        MonitorProtocolError, match="speaks xpm-monitor version 0 .*this xpm .* speaks xpm-monitor version 1"
    ):
        open_remote_workspace(
            ssh_server.alias, str(big_workspace), ssh_config=ssh_server.ssh_config, remote_xpm=str(fake)
        )


def test_missing_remote_xpm_is_a_clear_error(ssh_server, big_workspace) -> None:
    with pytest.raises(MonitorProtocolError, match="did not start: .*not found.*--remote-xpm"):
        _open_missing(ssh_server, big_workspace)


def _open_missing(ssh_server, path):
    return open_remote_workspace(
        ssh_server.alias, str(path), ssh_config=ssh_server.ssh_config, remote_xpm="/nowhere/xpm", timeout=20
    )


def test_ssh_monitor_command_shows_the_remote_workspace(ssh_server, big_workspace) -> None:
    """The real command, in a child process: the console view of the remote workspace, until Ctrl-C."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xpm_core",
            "experiments",
            "ssh-monitor",
            "--ssh-config",
            ssh_server.ssh_config,
            "--remote-python",
            sys.executable,
            "--remote-shell-init",
            "export XPM_FROM_INIT=1",
            "--timeout",
            "30",
            ssh_server.alias,
            str(big_workspace),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 60
    while not any("8571 done" in line for line in lines) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) is not None
    seen = "".join(lines)
    assert "big" in seen and "8571 done" in seen and "1429 failed" in seen, (
        seen,
        process.stderr.read() if process.stderr else "",
    )


def test_ssh_monitor_unknown_host_key_is_one_line(ssh_server, big_workspace, tmp_path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xpm_core",
            "experiments",
            "ssh-monitor",
            "--ssh-config",
            ssh_server.ssh_config,
            "-o",
            f"UserKnownHostsFile={empty}",
            ssh_server.alias,
            str(big_workspace),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not in known_hosts" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_ssh_monitor_web_serves_the_remote_jobs(ssh_server, tmp_path) -> None:
    """``ssh-monitor --web``: the web UI's API answers with the remote workspace's jobs and logs."""
    pytest.importorskip("xpm_web", reason="ssh-monitor --web needs xpm-web")
    import json
    import re
    import socket
    import urllib.error
    import urllib.request

    workspace = write_workspace(tmp_path / "remote-ws", 30, experiment="webbed")
    with socket.socket() as probe:  # a free port of the loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "experiments", "ssh-monitor", "--web", "--port", str(port),
         "--ssh-config", ssh_server.ssh_config, "--remote-python", sys.executable, "--timeout", "30",
         ssh_server.alias, str(workspace)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        seen: list[str] = []
        url = None
        for line in process.stderr:  # ends with the process: a start failure does not hang the test
            seen.append(line)
            match = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
            if match:
                url = match
                break
        assert url is not None and int(url[2]) == port, "".join(seen)
        token = url[3]

        def api(path: str, token: str = token) -> dict:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/{path}",
                                             headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())

        [experiment] = api("experiments")["experiments"]
        assert experiment["experiment_id"] == "webbed"
        page = api("jobs?limit=100")
        assert page["total"] == 30 and len(page["jobs"]) == 30
        failed = [job for job in page["jobs"] if job["state"] == "error"]
        assert len(failed) == 5  # jobs 0, 7, 14, 21, 28
        first = next(job for job in failed if job["tags"]["i"] == 0)
        log = api(f"jobs/{first['task_id']}/{first['job_id']}/log/stderr")
        assert log["text"] == "job 0 failed\n"  # read on demand, through the remote monitor-server
        with pytest.raises(urllib.error.HTTPError) as refused:
            api("jobs", token="not-the-token")
        assert refused.value.code == 401
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
