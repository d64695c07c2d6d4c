"""Fixtures of xpm-web's tests: a fake workspace, a real experiment, a flask test client, real Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from xpm_core.testing.monitor_contract import JOBS, FakeExperiment

#: CI sets it: a missing Chromium is then a failure, not a skip.
REQUIRE_ENV = "XPM_REQUIRE_CHROMIUM"
TOKEN = "test-token-0123456789"


@pytest.fixture
def fake_workspace(tmp_path: Path) -> Iterator[Path]:
    """The MonitorContract's fake run (one job done, one failed, one running), with logs and parameters."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "jobs").mkdir()
    fake = FakeExperiment(workspace)
    fake.start()
    fake.progress()
    fake.close()
    for job_id, task_id, tags in JOBS:
        folder = workspace / "jobs" / task_id / job_id
        name = task_id.rsplit(".", 1)[-1]
        (folder / f"{name}.out").write_text(f"stdout of {job_id[:6]}\n")
        (folder / f"{name}.err").write_text("".join(f"line {n} é\n" for n in range(1000)))
        (folder / "params.json").write_text(json.dumps({"task": task_id, "values": {"lr": tags.get("lr"), "model": {"size": 3}}}))
    # A secret beside the workspace, and a link to it from a job folder: never to be served.
    (tmp_path / "secret.txt").write_text("secret")
    done_id, done_task, _ = JOBS[0]
    os.symlink(tmp_path / "secret.txt", workspace / "jobs" / done_task / done_id / "escape.txt")
    yield workspace


@pytest.fixture
def app(fake_workspace: Path):
    from xpm_web.app import create_app

    application = create_app(fake_workspace, token=TOKEN)
    yield application
    state = application.extensions["xpm_web"]
    state.changes.close()
    state.source.close()


@pytest.fixture
def client(app):
    """A test client already authenticated by its cookie (as after opening the printed URL)."""
    test_client = app.test_client()
    test_client.set_cookie("xpm_web_token", TOKEN)
    return test_client


def chromium_problem() -> str | None:
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not installed (plugins/xpm-web/ci/start-chromium.sh installs it, as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'xpm-web[testing]')"
    return None


@pytest.fixture(scope="session")
def chromium_available() -> None:
    """Skips the test when Chromium cannot be used, or fails it when XPM_REQUIRE_CHROMIUM=1."""
    problem = chromium_problem()
    if problem is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but Chromium is not usable: {problem}")
    pytest.skip(f"no Chromium: {problem}")


@pytest.fixture
def token() -> str:
    return TOKEN


# ---- a real experiment ------------------------------------------------------------------------

TASKS = '''
"""Tasks of xpm-web's test experiment: each Step writes to its logs, then waits for its release file."""
import os, sys, time
from pathlib import Path
from xpm_core import Param, Task


def wait_for_release(name):
    release = Path(os.environ["XPM_WEB_TEST_DIR"]) / f"release-{name}"
    deadline = time.time() + 300
    while not release.exists() and time.time() < deadline:
        time.sleep(0.05)


class Step(Task):
    name: Param[str]
    lr: Param[float]

    def execute(self):
        print(f"step {self.name} starts", flush=True)
        for line in range(3):
            print(f"{self.name}: line {line}", file=sys.stderr, flush=True)
        wait_for_release(self.name)
        print(f"{self.name}: released", file=sys.stderr, flush=True)


class Chatty(Task):
    """Writes a numbered line to stderr every 0.1 s until released (to follow a growing log)."""

    def execute(self):
        from xpm_core import progress

        progress(0.5, desc="lines")  # shown in the jobs table and on the job's page
        release = Path(os.environ["XPM_WEB_TEST_DIR"]) / "release-chatty"
        count = 0
        while not release.exists() and count < 3000:
            print(f"chatty line {count}", file=sys.stderr, flush=True)
            count += 1
            time.sleep(0.1)


class Evaluate(Task):
    step: Param[Step]

    def execute(self):
        print("evaluated", file=sys.stderr, flush=True)


class Sleeper(Task):
    def execute(self):
        print("sleeping", file=sys.stderr, flush=True)
        time.sleep(300)


class Fail(Task):
    def execute(self):
        raise RuntimeError("failing on purpose")
'''

PLAN = '''
import sys
from xpm_core import DirectLauncher, experiment, tag
from tasks import Chatty, Evaluate, Fail, Sleeper, Step

# Every job at once, whatever the number of cores (the tests release them one by one).
with experiment(sys.argv[1], "web-xp", launcher=DirectLauncher(max_running=8)) as xp:
    first = Step.C(name="a", lr=tag(0.1)).submit()
    Step.C(name="b", lr=tag(0.01)).submit()
    Evaluate.C(step=first).submit()
    Chatty.C().submit()
    Sleeper.C().submit()
    Fail.C().submit()
print("driver done", flush=True)
'''

EXPERIMENT = "web-xp"


class Scenario:
    """The driver of the test experiment, started in ``folder`` (workspace: ``folder/workspace``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.workspace = folder / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        (folder / "tasks.py").write_text(TASKS)
        (folder / "plan.py").write_text(PLAN)
        self.env = {**os.environ, "XPM_WEB_TEST_DIR": str(folder), "PYTHONPATH": str(folder)}
        self.driver: Optional[subprocess.Popen[str]] = None
        self.monitor: Optional[subprocess.Popen[str]] = None

    def start(self) -> None:
        self.driver = subprocess.Popen([sys.executable, "plan.py", str(self.workspace)], cwd=self.folder,
                                       env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def release(self, name: str) -> None:
        (self.folder / f"release-{name}").touch()

    def start_monitor(self, port: int) -> str:
        """``xpm experiments monitor web-xp --port PORT`` in a child process; returns the URL it prints."""
        xpm = Path(sys.executable).with_name("xpm")
        self.monitor = subprocess.Popen([str(xpm), "experiments", "monitor", EXPERIMENT, "--workdir",
                                         str(self.workspace), "--port", str(port)],
                                        env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.monitor.stderr is not None
        line = self.monitor.stderr.readline()
        match = re.search(r"open (http://\S+)", line)
        assert match, f"the monitor printed {line!r}"
        return match.group(1)

    def stop(self) -> None:
        for name in ("a", "b", "chatty"):
            self.release(name)
        for process in (self.monitor, self.driver):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def scenario(tmp_path: Path) -> Iterator[Scenario]:
    """The test experiment's driver, running (stopped, jobs released, at the end)."""
    running = Scenario(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def wait() -> Callable[..., None]:
    return wait_for


# ---- a real headless Chromium -----------------------------------------------------------------------

#: Flags that keep Chromium off the network (no update, sync, DNS prefetch, telemetry; every host
#: name but localhost resolves to nothing) and make it run as root in a container.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--disable-component-extensions-with-background-pages",
    "--disable-domain-reliability", "--no-pings", "--dns-prefetch-disable", "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
    "AutofillServerCommunication,NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--window-size=1280,860",
)


@pytest.fixture(scope="module")
def chromium(chromium_available: None) -> Iterator[object]:
    """Debian's chromium driven by its chromedriver through selenium, with a fresh profile (one per module)."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never try to download a driver
    profile = tempfile.mkdtemp(prefix="xpm-web-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chromium) -> Iterator[object]:
    """The module's Chromium, as a new visitor: no cookie, a blank page."""
    chromium.delete_all_cookies()  # type: ignore[attr-defined]
    yield chromium
    chromium.get("about:blank")  # type: ignore[attr-defined]
    chromium.delete_all_cookies()  # type: ignore[attr-defined]


RUN_PLAN = '''
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration
from tasks import Step


@configuration()
class Configuration(ConfigurationBase):
    pass


def run(helper: ExperimentHelper, cfg: Configuration):
    Step.C(name="a", lr=0.1).submit()
'''


@pytest.fixture
def run_project(tmp_path: Path) -> Path:
    """A folder for ``xpm run-experiment xp.yaml``: tasks.py, experiment.py (one Step job), xp.yaml."""
    (tmp_path / "tasks.py").write_text(TASKS)
    (tmp_path / "experiment.py").write_text(RUN_PLAN)
    (tmp_path / "xp.yaml").write_text("id: web-run\n")
    return tmp_path
