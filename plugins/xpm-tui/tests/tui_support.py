"""Helpers of xpm-tui's tests: a small real experiment, run by a real driver, and pilot waits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

PLAN = '''
"""A small experiment for the TUI's tests: a grid of trainings and a failure, or a job that waits."""
import sys, time
from pathlib import Path
from xpm_core import Param, Task, experiment, tag


class Train(Task):
    learning_rate: Param[float]
    size: Param[int]

    def execute(self):
        for epoch in range(40):
            print(f"epoch {epoch}: loss {1 / (epoch + 1):.4f}", flush=True)
            print(f"step {epoch} of size {self.size}", file=sys.stderr, flush=True)


class Fail(Task):
    code: Param[int]

    def execute(self):
        raise RuntimeError(f"failing on purpose ({self.code})")


class Wait(Task):
    name: Param[str]

    def execute(self):
        print("waiting for the release file", flush=True)
        for _ in range(1200):
            if Path("release").exists():
                return
            time.sleep(0.1)


if __name__ == "__main__":
    workspace, name = sys.argv[1], sys.argv[2]
    with experiment(workspace, name) as xp:
        if name == "grid":
            for learning_rate in (0.1, 0.01):
                for size in (64, 256):
                    Train.C(learning_rate=tag(learning_rate), size=tag(size)).submit()
            Fail.C(code=3).submit()
        else:
            Wait.C(name=name).submit()
'''


def write_plan(folder: Path) -> Path:
    plan = folder / "plan.py"
    plan.write_text(PLAN)
    return plan


def start_driver(folder: Path, workspace: Path, name: str) -> subprocess.Popen[str]:
    """A real driver process running the experiment ``name`` (``grid``, or a waiting job)."""
    plan = write_plan(folder)
    return subprocess.Popen([sys.executable, str(plan), str(workspace), name], cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def run_driver(folder: Path, workspace: Path, name: str) -> None:
    process = start_driver(folder, workspace, name)
    _out, err = process.communicate(timeout=120)
    assert (workspace / "experiments" / name).is_dir(), err


def job_folder(workspace: Path, task: str) -> Path:
    """The folder of the (only) job of ``task`` (``__main__.wait``)."""
    folders = list((workspace / "jobs" / task).iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


async def settle(pause: Callable[[float], Awaitable[None]], predicate: Callable[[], Any], what: str,
                 timeout: float = 30.0) -> Any:
    """Let the app run (``pilot.pause``) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pause(0.05)
