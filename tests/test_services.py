"""Services (experimaestro D10): real servers started, answering and stopped, through the Python
API, a real driver, ``xpm experiments services list/start`` and the workspace API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import xpm

from xpm_core.plugin import WorkspaceAPI, WorkspaceAPIError
from xpm_core.scheduler.services import (
    ProcessWebService,
    Service,
    ServiceListener,
    ServiceState,
    WebService,
    resolve_service,
    wait_for_port,
)
from xpm_core.services.records import read_state, service_directory

PLAN = '''
"""A plan that registers a file server (a real `python -m http.server`) and checks it answers."""
import sys, urllib.request
from pathlib import Path
from xpm_core import Param, Task, experiment
from xpm_core.scheduler.services import ProcessWebService, wait_for_port


class Files(ProcessWebService):
    id = "files"

    def __init__(self, directory: Path, port: int):
        super().__init__()
        self.directory, self.port = directory, port

    def description(self):
        return f"the files of {self.directory.name}"

    def state_dict(self):
        return {"directory": self.directory, "port": self.port}

    def _build_command(self):
        return [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                "--directory", str(self.directory)]

    def _wait_for_ready(self):
        wait_for_port("127.0.0.1", self.port, process=self.process)
        return f"http://127.0.0.1:{self.port}/"


class Hello(Task):
    def execute(self):
        print("hello")


if __name__ == "__main__":
    workspace, port, served = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    with experiment(workspace, "served") as xp:
        Hello.C().submit()
        xp.add_service(Files(served, port))
        service = xp.add_service(Files(served, port))  # the same id: replaces the first one
        url = service.get_url()
        with urllib.request.urlopen(url + "page.txt") as answer:
            print("DURING THE RUN:", answer.read().decode())
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False




class HttpServer(ProcessWebService):
    """``python -m http.server`` on ``port``, serving ``directory``."""

    id = "http"

    def __init__(self, directory: Path, port: int, command: list[str] | None = None) -> None:
        super().__init__()
        self.directory, self.port, self.command = directory, port, command

    def state_dict(self) -> dict[str, Any]:
        return {"directory": self.directory, "port": self.port}

    def _build_command(self) -> list[str]:
        return self.command or [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                                "--directory", str(self.directory)]

    def _wait_for_ready(self) -> str:
        wait_for_port("127.0.0.1", self.port, process=self.process, timeout=30)
        return f"http://127.0.0.1:{self.port}/"


class ThreadServer(WebService):
    """A web server in a thread of this process."""

    id = "thread"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def _serve(self, running: threading.Event) -> None:
        directory = str(self.directory)

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=directory, **kwargs)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.timeout = 0.1
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        running.set()
        while not self.should_stop():
            server.handle_request()
        server.server_close()


class Recorder(ServiceListener):
    def __init__(self) -> None:
        self.states: list[str] = []

    def service_state_changed(self, service: Service) -> None:
        self.states.append(service.state.name)


@pytest.fixture
def served(tmp_path: Path) -> Path:
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "page.txt").write_text("hello from the service")
    return directory


def test_a_process_web_service_starts_answers_and_stops(served: Path, tmp_path: Path) -> None:
    port = free_port()
    service = HttpServer(served, port)
    service.log_directory = tmp_path / "logs"
    recorder = Recorder()
    service.add_listener(recorder)
    url = service.get_url()
    try:
        assert url == f"http://127.0.0.1:{port}/"
        assert service.state is ServiceState.RUNNING and service.get_url() == url  # a second call: same server
        assert fetch(url + "page.txt") == "hello from the service"
    finally:
        service.stop()
    assert service.state is ServiceState.STOPPED and service.url is None and refused(port)
    assert recorder.states == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]
    assert "GET /page.txt" in (tmp_path / "logs" / "logs.err").read_text()  # http.server logs to stderr


def test_a_process_that_exits_at_once_is_an_error_that_says_so(served: Path) -> None:
    service = HttpServer(served, free_port(), command=[sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="exited with code 3"):
        service.get_url()
    assert service.state is ServiceState.ERROR and "code 3" in (service.error or "")


def test_a_web_service_serves_from_a_thread_until_stopped(served: Path) -> None:
    service = ThreadServer(served)
    url = service.start()
    assert url is not None
    try:
        assert fetch(url + "page.txt") == "hello from the service"
    finally:
        service.stop()
    assert service.state is ServiceState.STOPPED
    assert service.thread is not None and not service.thread.is_alive()


def test_sub_services_are_resolved_by_parent_and_child_id() -> None:
    class Plain(Service):
        def __init__(self, id: str) -> None:
            super().__init__()
            self.id = id

    class Monitoring(Plain):
        def __init__(self) -> None:
            super().__init__("monitoring")
            self.parts = [Plain("tensorboard"), Plain("wandb")]

        def subservices(self) -> list[Service]:
            return list(self.parts)

    monitoring, plain = Monitoring(), Plain("tb")
    services = {"monitoring": monitoring, "tb": plain}
    assert resolve_service(services, "monitoring/wandb") is monitoring.parts[1]
    assert resolve_service(services, "tb") is plain and plain.subservices() == [plain]
    assert [sub["service_id"] for sub in monitoring.full_state_dict()["subservices"]] == ["tensorboard", "wandb"]
    assert "subservices" not in plain.full_state_dict()
    for missing in ("monitoring/nope", "absent"):
        with pytest.raises(KeyError):
            resolve_service(services, missing)
    with pytest.raises(TypeError, match="cannot be started"):
        plain.start()


def test_a_service_id_must_be_a_valid_name(tmp_path: Path) -> None:
    from xpm_core import experiment
    from xpm_core.names import InvalidNameError

    service = ThreadServer(tmp_path)
    service.id = "../escape"
    with experiment(tmp_path / "ws", "bad-id") as xp, pytest.raises(InvalidNameError, match="service id"):
        xp.add_service(service)


def test_a_state_left_running_by_a_dead_process_reads_stopped(tmp_path: Path) -> None:
    directory = service_directory(tmp_path, "gone")
    directory.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (directory / "state.json").write_text(json.dumps({
        "state": "RUNNING", "url": "http://127.0.0.1:1/", "pid": int(dead.stdout), "hostname": socket.gethostname(),
    }))
    assert read_state(tmp_path, "gone")["state"] == "STOPPED"


@pytest.fixture
def served_workspace(tmp_path: Path, served: Path) -> tuple[Path, int]:
    """A workspace after the plan ``served`` (its file server ran during the run); and the port."""
    plan = tmp_path / "plan.py"
    plan.write_text(PLAN)
    workspace, port = tmp_path / "workspace", free_port()
    result = subprocess.run([sys.executable, str(plan), str(workspace), str(port), str(served)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "DURING THE RUN: hello from the service" in result.stdout
    assert "already added" in result.stderr and "replaced" in result.stderr
    return workspace, port


def test_a_run_records_its_services_and_stops_them_at_its_end(served_workspace: tuple[Path, int]) -> None:
    workspace, port = served_workspace
    run_dir = workspace / "experiments" / "served" / "current"
    status = json.loads((run_dir / "status.json").read_text())
    record = status["services"]["files"]
    assert record["class"] == "__main__.Files" and record["description"] == "the files of served"
    assert record["state_dict"]["port"] == port and "__path__" in record["state_dict"]["directory"]
    assert refused(port)  # the driver stopped it
    assert read_state(run_dir, "files")["state"] == "STOPPED"
    assert (run_dir / "services" / "files" / "logs.err").exists()


def test_services_list_and_start_from_the_cli(served_workspace: tuple[Path, int], tmp_path: Path) -> None:
    workspace, port = served_workspace
    listed = xpm("experiments", "services", "list", "served", "--workdir", str(workspace))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:3] == ["files", "STOPPED", "-"]

    environment = {**os.environ, "XPM_LOAD_PLUGINS": ""}
    start = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "experiments", "--workdir", str(workspace), "services", "start",
         "served", "files"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=tmp_path,
    )
    try:
        assert start.stdout is not None
        line = start.stdout.readline()
        assert line.strip() == f"Service files is running at http://127.0.0.1:{port}/", (line, start.stderr)
        assert fetch(f"http://127.0.0.1:{port}/page.txt") == "hello from the service"

        as_json = xpm("experiments", "services", "list", "served", "--json", "--workdir", str(workspace))
        (row,) = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert row["state"] == "RUNNING" and row["url"] == f"http://127.0.0.1:{port}/"

        # What monitors see and may do: the service runs in another process.
        with WorkspaceAPI(workspace) as api:
            (shown,) = api.services("served")
            assert {key: shown[key] for key in ("id", "state", "url")} == {
                "id": "files", "state": "RUNNING", "url": f"http://127.0.0.1:{port}/"}
            with pytest.raises(WorkspaceAPIError, match="stop it there"):
                api.stop_service("served", "files")
            with pytest.raises(WorkspaceAPIError, match="already running"):
                api.start_service("served", "files")

        again = xpm("experiments", "services", "start", "served", "files", "--workdir", str(workspace))
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        start.send_signal(signal.SIGINT)  # Ctrl-C
        _out, err = start.communicate(timeout=30)
    assert start.returncode == 0, err
    assert "Service files stopped." in err
    assert refused(port)
    after = xpm("experiments", "services", "list", "served", "--workdir", str(workspace))
    assert after.stdout.split()[:2] == ["files", "STOPPED"]


def test_a_monitor_starts_and_stops_a_recorded_service(served_workspace: tuple[Path, int], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, port = served_workspace
    monkeypatch.chdir(tmp_path)
    with WorkspaceAPI(workspace) as api:
        row = api.start_service("served", "files")
        assert row["state"] == "RUNNING" and row["url"] == f"http://127.0.0.1:{port}/"
        assert fetch(f"http://127.0.0.1:{port}/page.txt") == "hello from the service"
        assert api.stop_service("served", "files")["state"] == "STOPPED"
        assert refused(port)
        api.start_service("served", "files")
    assert refused(port)  # close() stops what the API started
    with WorkspaceAPI(workspace) as api:
        with pytest.raises(WorkspaceAPIError, match="no service 'nope'"):
            api.start_service("served", "nope")
        with pytest.raises(WorkspaceAPIError, match="no experiment"):
            api.services("absent")


def test_services_errors_name_what_is_wrong(served_workspace: tuple[Path, int]) -> None:
    workspace, _port = served_workspace
    unknown = xpm("experiments", "services", "start", "served", "nope", "--workdir", str(workspace))
    assert unknown.returncode == 2 and "has no service 'nope' (services: files)" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    absent = xpm("experiments", "services", "list", "absent", "--workdir", str(workspace))
    assert absent.returncode == 2 and "no experiment 'absent'" in absent.stderr


def test_wait_for_port_says_when_the_server_died() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(5)"])
    process.wait()
    with pytest.raises(RuntimeError, match="exited with code 5"):
        wait_for_port("127.0.0.1", free_port(), process=process, timeout=5)


def test_a_remote_monitor_lists_the_services(served_workspace: tuple[Path, int]) -> None:
    from xpm_core.plugin import RemoteWorkspace

    workspace, _port = served_workspace
    command = [sys.executable, "-m", "xpm_core", "experiments", "monitor-server", str(workspace)]
    with RemoteWorkspace.over_command(command) as remote, WorkspaceAPI(workspace) as local:
        assert remote.services("served") == local.services("served")
        assert remote.services("served")[0]["id"] == "files"
        with pytest.raises(WorkspaceAPIError, match="no experiment"):
            remote.services("absent")


class Dashboards(Service):
    """A composite service: two thread servers started on their own (``dashboards/one``, ``dashboards/two``)."""

    id = "dashboards"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.parts = [ThreadServer(directory), ThreadServer(directory)]
        self.parts[0].id, self.parts[1].id = "one", "two"

    def description(self) -> str:
        return "two dashboards"

    def state_dict(self) -> dict[str, Any]:
        return {"directory": self.directory}

    def subservices(self) -> list[Service]:
        return list(self.parts)


def test_a_sub_service_is_listed_and_started_again_on_its_own(tmp_path: Path, served: Path) -> None:
    from xpm_core.services.records import recreate_service, service_rows
    from xpm_core.services.registration import services_record

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "status.json").write_text(json.dumps({"services": services_record({"dashboards": Dashboards(served)})}))
    rows = service_rows(run_dir)
    assert [(row["id"], row["state"]) for row in rows] == [
        ("dashboards", "STOPPED"), ("dashboards/one", "STOPPED"), ("dashboards/two", "STOPPED")]

    two = recreate_service(run_dir, "dashboards/two")
    assert isinstance(two, ThreadServer) and two.log_directory == run_dir / "services" / "dashboards" / "two"
    url = two.start()
    try:
        assert url is not None and fetch(url + "page.txt") == "hello from the service"
        assert read_state(run_dir, "dashboards/two") == {"state": "RUNNING", "url": url, "error": None,
                                                         "pid": os.getpid()}
    finally:
        two.stop()
    assert read_state(run_dir, "dashboards/two")["state"] == "STOPPED"
    with pytest.raises(LookupError, match="no sub-service 'three'"):
        recreate_service(run_dir, "dashboards/three")


def test_a_monitor_in_the_drivers_process_starts_the_plans_service(tmp_path: Path, served: Path) -> None:
    """As with ``run-experiment --port``: the web monitor runs in the driver and starts its services."""
    from xpm_core import experiment

    with experiment(tmp_path / "ws", "inside") as xp:
        service = xp.add_service(ThreadServer(served))
        with WorkspaceAPI(tmp_path / "ws") as api:
            assert api.services("inside")[0]["state"] == "STOPPED"
            row = api.start_service("inside", "thread")
            assert row["state"] == "RUNNING" and service.state is ServiceState.RUNNING  # the plan's own object
            assert fetch(row["url"] + "page.txt") == "hello from the service"
            assert api.stop_service("inside", "thread")["state"] == "STOPPED"
            api.start_service("inside", "thread")
    assert service.state is ServiceState.STOPPED  # stopped with the run
