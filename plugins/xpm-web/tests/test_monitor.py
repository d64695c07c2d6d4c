"""The web monitor as xpm starts it: the MonitorContract, and ``xpm experiments monitor`` for real."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from xpm_core.testing import MonitorContract, PluginPackageContract
from xpm_core.testing.monitor_contract import EXPERIMENT_ID, JOBS


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class OpenPage:
    """What an open run page does, without the browser: listen to the event stream and, on each
    change the monitor pushed, fetch the jobs again (the browser tests check the real page)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token
        self.states: dict[str, str] = {}
        request = urllib.request.Request(f"{base_url}/api/events", headers={"Authorization": f"Bearer {token}"})
        self.stream = urllib.request.urlopen(request, timeout=30)
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self) -> None:
        event = None
        try:
            for raw in self.stream:
                line = raw.decode().strip()
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event in ("hello", "change"):
                    # hello carries the version already pushed: 0 means the monitor never refreshed.
                    if event == "change" or json.loads(line[len("data: "):])["version"] > 0:
                        self.load()
        except (OSError, ValueError):
            pass  # the server closed the stream

    def load(self) -> None:
        try:
            page = get_json(f"{self.base_url}/api/jobs?experiment={EXPERIMENT_ID}&run=latest", self.token)
        except urllib.error.HTTPError:
            return  # no run yet
        self.states = {job["job_id"]: job["state"] for job in page["jobs"]}


class TestWebMonitor(MonitorContract):
    monitor_name = "web"

    def monitor_options(self, tmp_path):
        return {"port": 0, "stream": io.StringIO()}

    def shown_states(self, monitor):
        if monitor.base_url is None:
            return {}
        page = PAGES.get(id(monitor))
        if page is None:
            page = PAGES[id(monitor)] = OpenPage(monitor.base_url, monitor.token)
        return dict(page.states)


PAGES: dict[int, OpenPage] = {}


class TestPackage(PluginPackageContract):
    distribution = "xpm-web"


def test_the_url_line_and_the_loopback_default(fake_workspace):
    from xpm_web.monitor import WebMonitor

    stream = io.StringIO()
    monitor = WebMonitor(fake_workspace, experiment_id=EXPERIMENT_ID, port=0, stream=stream, token="t0k3n-abc")
    monitor.start()
    try:
        lines = stream.getvalue().splitlines()
        assert lines == [f"xpm web monitor: open http://127.0.0.1:{monitor._server.port}/?token=t0k3n-abc"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{monitor.base_url}/api/experiments", timeout=10)
        assert refused.value.code == 401
    finally:
        monitor.close()


def test_a_non_loopback_address_prints_a_warning(fake_workspace):
    from xpm_web.monitor import WebMonitor

    stream = io.StringIO()
    monitor = WebMonitor(fake_workspace, port=0, host="0.0.0.0", stream=stream)
    monitor.start()
    monitor.close()
    assert "warning: listening on 0.0.0.0" in stream.getvalue()


def test_xpm_experiments_monitor_cli(fake_workspace):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    xpm = Path(sys.executable).with_name("xpm")
    process = subprocess.Popen([str(xpm), "experiments", "monitor", EXPERIMENT_ID, "--workdir", str(fake_workspace),
                                "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith(f"xpm web monitor: open http://127.0.0.1:{port}/?token="), line
        token = line.rsplit("=", 1)[1].strip()
        page = get_json(f"http://127.0.0.1:{port}/api/jobs?experiment={EXPERIMENT_ID}", token)
        assert {job["job_id"] for job in page["jobs"]} == {job_id for job_id, _, _ in JOBS}
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_busy_port_is_one_clear_line(fake_workspace):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        xpm = Path(sys.executable).with_name("xpm")
        result = subprocess.run([str(xpm), "experiments", "monitor", "--workdir", str(fake_workspace),
                                 "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "port is in use" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_run_experiment_port_serves_the_run_while_it_runs(run_project):
    import os
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "XPM_WEB_TEST_DIR": str(run_project), "PYTHONPATH": str(run_project)}
    xpm = Path(sys.executable).with_name("xpm")
    process = subprocess.Popen([str(xpm), "run-experiment", "xp.yaml", "--workdir", str(run_project / "ws"),
                                "--port", str(port)], cwd=run_project, env=env, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            if "xpm web monitor: open" in line:
                break
        assert seen and "xpm web monitor: open" in seen[-1], "".join(seen)
        token = seen[-1].rsplit("=", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            page = get_json(f"{base}/api/jobs?experiment=web-run&run=latest", token)
            if [job["state"] for job in page["jobs"]] == ["running"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [job["state"] for job in page["jobs"]] == ["running"]
        (run_project / "release-a").touch()
        _, rest = process.communicate(timeout=120)
        assert process.returncode == 0, "".join(seen) + rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_script_acts_with_the_token_and_the_action_is_logged(fake_workspace):
    import logging

    from xpm_web.monitor import WebMonitor

    done, task, _ = JOBS[0]
    stream = io.StringIO()
    monitor = WebMonitor(fake_workspace, port=0, stream=stream)
    root_handlers = logging.getLogger().handlers[:]
    logging.getLogger().handlers.clear()  # as in `xpm experiments monitor`: no logging configured
    try:
        monitor.start()
        body = json.dumps({"jobs": [f"{task}/{done}"], "perform": True}).encode()
        request = urllib.request.Request(f"{monitor.base_url}/api/actions/clean", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {monitor.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            outcomes = json.load(response)["outcomes"]
        assert [outcome["status"] for outcome in outcomes] == ["deleted"]
        assert f"xpm web: web clean from 127.0.0.1: deleted {task}/{done}" in stream.getvalue()
    finally:
        monitor.close()
        logging.getLogger().handlers[:] = root_handlers
