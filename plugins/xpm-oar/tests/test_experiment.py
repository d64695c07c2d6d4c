"""A whole xpm experiment on the real OAR cluster: arrays, a failure, walltime resumes, xpm jobs kill."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("oar_cluster")

PLAN = '''
import sys, time
from pathlib import Path
from xpm_core import GracefulTimeout, Param, ResumableTask, Task, experiment
from xpm_oar import OarLauncher

class Hello(Task):
    word: Param[str]
    def execute(self):
        print("hello", self.word)

class Fails(Task):
    code: Param[int]
    def execute(self):
        raise SystemExit(self.code)

class Careful(ResumableTask):
    """Watches remaining_time() and stops before OAR's checkpoint signal."""
    steps: Param[int]
    def execute(self):
        progress = Path("progress")
        done = int(progress.read_text()) if progress.exists() else 0
        print("start at", done, "seconds left", round(self.remaining_time()), flush=True)
        while done < self.steps:
            if self.remaining_time() < 44:
                raise GracefulTimeout("near the walltime")
            time.sleep(1)
            done += 1
            progress.write_text(str(done))
        print("finished", done)

class Stubborn(ResumableTask):
    """Ignores remaining_time(): OAR's checkpoint signal stops it."""
    n: Param[int]
    def execute(self):
        marker = Path("attempted")
        if marker.exists():
            print("resumed", flush=True)
            return
        marker.write_text("1")
        print("first attempt", flush=True)
        time.sleep(120)

class Sleeper(Task):
    n: Param[int]
    def execute(self):
        print("sleeping", flush=True)
        time.sleep(300)

if __name__ == "__main__":
    # Walltime 50 s, checkpoint signal 30 s before it: about 20 s after the start.
    launcher = OarLauncher(submit_user=sys.argv[2] or None, poll_interval=0.5, walltime=50, checkpoint=30)
    with experiment(sys.argv[1], "oar-e2e", launcher=launcher):
        for word in ("a", "b", "c"):
            Hello.C(word=word).submit()
        Fails.C(code=3).submit()
        Careful.C(steps=10).submit()
        Stubborn.C(n=1).submit()
        Sleeper.C(n=1).submit(launcher=launcher.config(walltime=600, checkpoint=None))
'''


@pytest.fixture(scope="module")
def job_interpreter(oar_root: Path, oar_submit_user: str | None) -> str:
    """A Python the submit user can run, that imports what the tests import.

    The tests' interpreter may live under /root, which the submit user cannot enter: a venv of
    the system's Python reads the tests' site-packages instead (same minor version needed).
    """
    if oar_submit_user is None:
        return sys.executable
    system = "/usr/bin/python3"
    version = subprocess.run(
        [system, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"{system} is Python {version}, the tests run {sys.version_info[:2]}")
    venv = oar_root / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    # addsitedir also reads that folder's .pth files: the editable installs of xpm and its plugins.
    Path(site_packages, "xpm-tests.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return str(venv / "bin" / "python")


def xpm(*args: str) -> str:
    xpm_command = Path(sys.executable).parent / "xpm"
    return subprocess.run([str(xpm_command), *args], capture_output=True, text=True, check=True, timeout=120).stdout


def states(workspace: Path) -> dict[str, str]:
    """Task name -> its jobs' states, from ``xpm jobs list`` (one line per job: STATE TASK/HASH)."""
    found: dict[str, set[str]] = {}
    if not (workspace / "jobs").exists():  # the driver has not started yet
        return {}
    for line in xpm("jobs", "list", "--workdir", str(workspace)).splitlines():
        parts = line.split()
        if len(parts) >= 2 and "/" in parts[1]:
            found.setdefault(parts[1].split("/")[0].rsplit(".", 1)[-1], set()).add(parts[0])
    return {name: ",".join(sorted(values)) for name, values in found.items()}


def test_experiment_on_oar(job_root: Path, job_interpreter: str, oar_submit_user: str | None):
    plan = job_root / "plan.py"
    plan.write_text(PLAN)
    workspace = job_root / "workspace"
    driver = subprocess.Popen(
        [job_interpreter, str(plan), str(workspace), oar_submit_user or ""],
        cwd=job_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    try:
        # xpm jobs kill, from another process, once the sleeper runs.
        deadline = time.monotonic() + 150
        while states(workspace).get("sleeper") != "RUNNING":
            assert time.monotonic() < deadline and driver.poll() is None, driver.stdout.read() if driver.stdout else ""
            time.sleep(1)
        only_sleeper = '@state = "RUNNING" and @name ~ "sleeper$"'
        killed = xpm("jobs", "kill", "--workdir", str(workspace), "--filter", only_sleeper, "--perform")
        assert "sleeper" in killed
        output, _ = driver.communicate(timeout=200)
    finally:
        if driver.poll() is None:
            driver.kill()
    final = states(workspace)
    assert final == {
        "hello": "DONE",
        "fails": "ERROR",
        "careful": "DONE",
        "stubborn": "DONE",
        "sleeper": "ERROR",
    }, output
    jobs = workspace / "jobs"
    assert sorted(p.read_text() for p in jobs.glob("*.hello/*/hello.out")) == ["hello a\n", "hello b\n", "hello c\n"]
    # Careful stopped on its own (remaining_time), then resumed from its progress.
    (careful,) = jobs.glob("*.careful/*")
    attempts = sorted(careful.glob("careful*.out"))
    assert "start at 0 seconds left" in "".join(p.read_text() for p in attempts)
    assert "finished 10" in (careful / "careful.out").read_text()
    # Stubborn was stopped by OAR's checkpoint signal, then resumed.
    (stubborn,) = jobs.glob("*.stubborn/*")
    assert (stubborn / "stubborn.out").read_text() == "resumed\n"
