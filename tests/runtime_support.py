"""Helpers for the runtime tests: task modules and plans written to a folder and run as real drivers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

TASKS = '''
"""Tasks used by the runtime tests; every execution appends a line to the workspace's runs.log."""
import os, signal, sys, time
from pathlib import Path
from xpm_core import Config, Task, ResumableTask, Param, Meta, field, tag
from xpm_core.runtime.errors import GracefulTimeout
from xpm_core.runtime.prepare import Prepare


def log(what):
    with open(os.environ["XPM_TEST_LOG"], "a") as f:
        f.write(f"{what} {time.time()}\\n")


class Model(Config):
    name: Param[str]
    hidden_size: Param[int]


class Train(Task):
    model: Param[Model]
    learning_rate: Param[float]
    sleep: Meta[float] = field(default=0.0)

    def execute(self):
        log(f"start train {self.model.hidden_size} {self.learning_rate}")
        time.sleep(self.sleep)
        print("trained", self.model.hidden_size, self.learning_rate)
        log(f"end train {self.model.hidden_size} {self.learning_rate}")


class Evaluate(Task):
    trained: Param[Train]

    def execute(self):
        log(f"evaluate {self.trained.learning_rate}")


class Fail(Task):
    code: Param[int]

    def execute(self):
        log("fail")
        raise RuntimeError(f"failing on purpose ({self.code})")


class Consume(Task):
    upstream: Param[Task]

    def execute(self):
        log("consume")


class Download(Prepare):
    url: Param[str]

    def is_prepared(self):
        return Path(os.environ["XPM_TEST_LOG"]).with_name("downloaded").exists()

    def prepare(self):
        log(f"prepare {self.url}")
        Path(os.environ["XPM_TEST_LOG"]).with_name("downloaded").touch()


class UseData(Task):
    data: Param[Download]
    index: Param[int]

    def execute(self):
        log(f"use {self.index}")


class Env(Task):
    def execute(self):
        log(f"env {os.environ.get('XPM_FROM_SETTINGS')} {os.environ.get('XPM_FROM_WORKSPACE')}")


def fixed_remaining():
    return 42.0


class Remaining(ResumableTask):
    def execute(self):
        log(f"remaining {self.remaining_time()}")


class KilledAtTimeLimit(ResumableTask):
    """First attempt: killed by SIGTERM, as a batch system does at the time limit."""

    def execute(self):
        tries = Path("tries")
        count = int(tries.read_text()) + 1 if tries.exists() else 1
        tries.write_text(str(count))
        log(f"attempt {count}")
        if count == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)


class Step(Task):
    index: Param[int]
    sleep: Meta[float] = field(default=0.0)

    def execute(self):
        log(f"start step {self.index}")
        time.sleep(self.sleep)
        log(f"end step {self.index}")


class Wait(Task):
    def execute(self):
        log("wait")
        Path("started").touch()
        time.sleep(120)


class Resume(ResumableTask):
    attempts: Param[int]

    def execute(self):
        tries = Path("tries")
        count = int(tries.read_text()) + 1 if tries.exists() else 1
        tries.write_text(str(count))
        log(f"resume attempt {count}")
        if count < self.attempts:
            raise GracefulTimeout(f"attempt {count}: out of time")
'''


def write_plan(folder: Path, body: str, name: str = "plan.py") -> Path:
    """Write ``tasks.py`` and a plan whose body runs inside ``with experiment(...) as xp``."""
    (folder / "tasks.py").write_text(TASKS)
    plan = folder / name
    plan.write_text(
        "import logging, sys\n"
        "from xpm_core import tag\n"
        "from xpm_core.runtime.experiment import experiment, RunMode\n"
        "from xpm_core.builtin.local.direct_launcher import DirectLauncher\n"
        "from tasks import *\n\n"
        "def plan(xp):\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n\nif __name__ == '__main__':\n"
        "    logging.basicConfig(level=logging.INFO)\n"
        "    workspace, name = sys.argv[1], sys.argv[2]\n"
        "    mode = sys.argv[3] if len(sys.argv) > 3 else 'normal'\n"
        "    with experiment(workspace, name, run_mode=mode) as xp:\n"
        "        plan(xp)\n"
        "    print('FAILED', len(xp.failed_jobs()))\n"
    )
    return plan


def driver_env(workspace: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XPM_TEST_LOG"] = str(workspace.parent / "runs.log")
    return env


def start_driver(plan: Path, workspace: Path, name: str, *mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(plan), str(workspace), name, *mode],
        cwd=plan.parent,
        env=driver_env(workspace),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_driver(plan: Path, workspace: Path, name: str, *mode: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    process = start_driver(plan, workspace, name, *mode)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def executions(workspace: Path) -> list[str]:
    """The lines tasks appended to the log (one or two per execution), without timestamps."""
    log = workspace.parent / "runs.log"
    if not log.exists():
        return []
    return [line.rsplit(" ", 1)[0] for line in log.read_text().splitlines()]


def wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
