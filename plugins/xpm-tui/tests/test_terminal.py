"""The real thing: ``xpm experiments monitor --console`` in a real terminal (tmux), typed at and read."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

#: The tests' own tmux server: never the user's.
SOCKET = "xpm-tui-tests"


class Terminal:
    """A 120x40 tmux window running one command."""

    def __init__(self, tmux: str, name: str) -> None:
        self.tmux, self.name = tmux, name

    def run(self, *args: str) -> str:
        result = subprocess.run([self.tmux, "-L", SOCKET, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def paste(self, text: str) -> None:
        """Paste ``text`` into the terminal (bracketed paste: the app receives it as one event)."""
        self.run("set-buffer", "-b", "xpm-tui-test", text)
        self.run("paste-buffer", "-p", "-d", "-b", "xpm-tui-test", "-t", self.name)

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        return self.wait_until(lambda screen: all(text in screen for text in texts), str(texts), timeout)

    def wait_until(self, predicate: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal does not show {what} after {timeout:.0f} s:\n{screen}")
            time.sleep(0.03)

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", SOCKET, "kill-session", "-t", self.name], capture_output=True, timeout=30)


def test_monitor_console_opens_the_tui_in_a_real_terminal(tmux: str, grid_workspace: Path, tmp_path: Path) -> None:
    xpm = Path(sys.executable).with_name("xpm")
    command = " ".join([
        # COLUMNS/LINES from pytest's environment would override the terminal's real size.
        "env", "-u", "COLUMNS", "-u", "LINES", f"PATH={shlex.quote(os.environ.get('PATH', ''))}", "TERM=xterm-256color",
        shlex.quote(str(xpm)), "experiments", "monitor", "--console", "--workdir", shlex.quote(str(grid_workspace)),
        "; echo xpm-exited-$?; sleep 60",
    ])
    terminal = Terminal(tmux, f"monitor-{os.getpid()}")
    terminal.start(command)
    try:
        screen = terminal.wait_for("Experiments of", "grid", "failed")
        assert "Help" in screen and "Quit" in screen  # the footer lists the keys
        terminal.keys("Enter")
        screen = terminal.wait_for("learning_rate", "DONE", "ERROR", "jobs 1-5 of 5")
        # Each key that moves the focus waits for its effect on screen, as a person's eyes do: keys
        # sent faster arrive before the focus moved and go to the widget that had it.
        terminal.keys("/")
        terminal.wait_until(lambda screen: "Kill all" not in screen, "the search box focused (its keys leave the footer)")
        # Textual routes input by the focus when it reads it: on a loaded machine the focus may move
        # a second after the footer changed. A person does not paste that fast.
        time.sleep(2.0)
        terminal.paste('@state = "error"')
        screen = terminal.wait_for("jobs 1-1 of 1 matching the filter", "__main__.fail")
        assert "DONE" not in screen
        terminal.keys("Enter")  # back to the table
        terminal.wait_for("Kill all")
        terminal.keys("Enter")  # open the job
        terminal.wait_for("Failure", "reason:", "failing on purpose")
        terminal.keys("q")
        terminal.wait_for("xpm-exited-0")
    finally:
        terminal.close()


RUN_PLAN = '''
"""A plan for run-experiment --console: three jobs that wait for the test's release file."""
import time
from pathlib import Path
from xpm_core import Param, Task
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration


class Nap(Task):
    index: Param[int]
    release: Param[str]

    def execute(self):
        print(f"nap {self.index}", flush=True)
        while not Path(self.release).exists():
            time.sleep(0.1)


@configuration()
class Configuration(ConfigurationBase):
    naps: int = 3
    release: str = "release"


def run(helper: ExperimentHelper, cfg: Configuration):
    for index in range(cfg.naps):
        Nap.C(index=index, release=cfg.release).submit()
'''


def test_run_experiment_console_shows_the_run_then_its_summary(tmux: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "experiment.py").write_text(RUN_PLAN)
    release = tmp_path / "release"
    (project / "xp.yaml").write_text(f"id: naps\nrelease: {release}\n")
    xpm = Path(sys.executable).with_name("xpm")
    command = " ".join([
        "cd", shlex.quote(str(project)), "&&", "env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color",
        shlex.quote(str(xpm)), "run-experiment", "--console", "--workdir", shlex.quote(str(tmp_path / "ws")), "xp.yaml",
        "; echo xpm-exited-$?; sleep 60",
    ])
    terminal = Terminal(tmux, f"run-{os.getpid()}")
    terminal.start(command)
    try:
        # The TUI opens on the run's jobs, shows them run, and closes by itself when the run ends.
        terminal.wait_for("Experiment naps", "experiment.nap", "RUNNING")
        release.touch()
        # The TUI closed by itself; the summary follows it.
        terminal.wait_for("experiment naps: 3 jobs: 3 done", "xpm-exited-0", timeout=120)
    finally:
        terminal.close()
