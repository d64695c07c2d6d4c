"""Fault trials: drivers killed at random moments, concurrent drivers, a corrupt index, jobs killed.

Each trial runs real drivers (``python plan.py``) and real ``xpm`` commands on a fresh workspace
and counts, over all trials of a kind: executions expected, duplicate executions (a job run
twice), lost jobs (never done after the recovery run) and wrong states (a command reporting a
state the files contradict: RUNNING for a dead process, WAITING or a "running" run after its
driver died, anything but DONE after a complete recovery). Prints one table.

    python benchmarks/fault_trials.py               # 20 driver kills, and the other kinds
    python benchmarks/fault_trials.py --kills 5 --seed 7
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import click

TASKS = '''
import os, time
from pathlib import Path
from xpm_core import Task, Param, Meta, field


def log(what):
    with open(os.environ["XPM_TRIAL_LOG"], "a") as stream:
        stream.write(what + "\\n")


class Step(Task):
    index: Param[int]
    sleep: Meta[float] = field(default=0.0)

    def execute(self):
        log(f"start {self.index}")
        time.sleep(self.sleep)
        log(f"end {self.index}")


class Wait(Task):
    def execute(self):
        Path("started").touch()
        time.sleep(120)
'''

PLAN = '''
import sys
from xpm_core import experiment
from xpm_core.builtin.local.direct_launcher import DirectLauncher
from trial_tasks import Step, Wait

workspace, name, first, last, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with experiment(workspace, name):
    if kind == "wait":
        Wait.C().submit()
    else:
        launcher = DirectLauncher(max_running=2)
        for index in range(first, last):
            Step.C(index=index, sleep=0.3).submit(launcher=launcher)
'''

STEPS = 8


class Trial:
    """A fresh folder with the plan, a workspace and the executions log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.workspace = root / "ws"
        self.log = root / "executions.log"
        (root / "trial_tasks.py").write_text(textwrap.dedent(TASKS))
        (root / "plan.py").write_text(textwrap.dedent(PLAN))
        self.env = {**os.environ, "XPM_TRIAL_LOG": str(self.log), "XPM_LOAD_PLUGINS": ""}

    def driver(self, name: str, first: int = 0, last: int = STEPS, kind: str = "steps") -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "plan.py", str(self.workspace), name, str(first), str(last), kind],
            cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def xpm(self, *args: str) -> subprocess.CompletedProcess[str]:
        # From the trial's folder: `python -m` puts the current folder first on sys.path.
        return subprocess.run([sys.executable, "-m", "xpm_core", *args, "--workdir", str(self.workspace)],
                              capture_output=True, text=True, env=self.env, timeout=120, cwd=self.root)

    def executions(self) -> Counter[str]:
        return Counter(self.log.read_text().splitlines()) if self.log.exists() else Counter()

    def job_states(self) -> list[str]:
        listed = self.xpm("jobs", "list")
        return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]

    def run_status(self, name: str) -> str:
        status = self.workspace / "experiments" / name / "current" / "status.json"
        try:
            return str(json.loads(status.read_text())["status"])
        except (OSError, ValueError, KeyError):
            return "missing"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _pids(workspace: Path) -> list[int]:
    pids = []
    for pid_file in workspace.glob("jobs/*/*/*.pid"):
        try:
            pids.append(int(json.loads(pid_file.read_text())["pid"]))
        except (OSError, ValueError, KeyError):
            continue
    return pids


def _wait(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def _finish(trial: Trial, name: str, first: int = 0, last: int = STEPS) -> tuple[int, int, int]:
    """Run the driver to its end; (duplicates, lost, wrong states) against ``first..last`` done once."""
    driver = trial.driver(name, first, last)
    driver.communicate(timeout=300)
    counts = trial.executions()
    duplicates = sum(max(0, counts[f"end {i}"] - 1) for i in range(first, last))
    lost = sum(counts[f"end {i}"] == 0 for i in range(first, last))
    wrong = sum(state != "DONE" for state in trial.job_states()) + (trial.run_status(name) != "done")
    return duplicates, lost, wrong


def driver_kills(root: Path, count: int, rng: random.Random) -> dict[str, int]:
    """Kill the driver (SIGKILL) at a random moment, check what commands say, run it again."""
    totals = Counter(trials=count, expected=count * STEPS)
    for number in range(count):
        trial = Trial(root / f"kill-{number}")
        driver = trial.driver("xp")
        # A random moment of the run itself: from its start (the interpreter's own start-up
        # takes a varying time on a loaded machine) to about when its last jobs run.
        _wait(lambda: (trial.workspace / "experiments" / "xp" / "current").exists())
        time.sleep(rng.uniform(0.0, 2.0))
        driver.kill()
        driver.wait()
        # Right after the kill: no job reported RUNNING with a dead process, no WAITING job and
        # no "running" run once a reader has looked (the run's driver is gone).
        # Jobs outlive their driver: one may end while `jobs list` runs. Its processes are
        # counted before the listing, so that a job seen alive then may be listed RUNNING.
        alive = sum(_alive(pid) for pid in _pids(trial.workspace))
        states = trial.job_states()
        totals["wrong"] += max(0, states.count("RUNNING") - alive) + states.count("WAITING")
        if trial.run_status("xp") == "running":
            totals["wrong"] += 1
        duplicates, lost, wrong = _finish(trial, "xp")
        totals.update(duplicates=duplicates, lost=lost, wrong=wrong)
    return dict(totals)


def concurrent_drivers(root: Path, count: int) -> dict[str, int]:
    """Three drivers of overlapping plans at once: each job runs once."""
    totals = Counter(trials=count)
    for number in range(count):
        trial = Trial(root / f"concurrent-{number}")
        drivers = [trial.driver(f"xp{i}", 2 * i, 2 * i + 4) for i in range(3)]
        for driver in drivers:
            driver.communicate(timeout=300)
        counts = trial.executions()
        jobs = range(0, 8)
        totals["expected"] += len(jobs)
        totals["duplicates"] += sum(max(0, counts[f"end {i}"] - 1) for i in jobs)
        totals["lost"] += sum(counts[f"end {i}"] == 0 for i in jobs)
        totals["wrong"] += sum(state != "DONE" for state in trial.job_states())
        totals["wrong"] += sum(trial.run_status(f"xp{i}") != "done" for i in range(3))
    return dict(totals)


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "deleted": lambda db: db.unlink(),
    "empty": lambda db: db.write_bytes(b""),
    "garbage": lambda db: db.write_bytes(os.urandom(4096)),
    "truncated": lambda db: db.write_bytes(db.read_bytes()[: len(db.read_bytes()) // 2]),
    "header": lambda db: db.write_bytes(b"\0" * 100 + db.read_bytes()[100:]),
    "text": lambda db: db.write_text("not a database\n"),
    "directory": lambda db: (db.unlink(), db.mkdir()),
    "stale-wal": lambda db: db.with_name(db.name + "-wal").write_bytes(os.urandom(1000)),
    "zero-page": lambda db: db.write_bytes(db.read_bytes()[:4096] + b"\0" * 4096 + db.read_bytes()[8192:]),
}


def index_corruptions(root: Path) -> dict[str, int]:
    """Corrupt the index in each way; the next commands must answer what the files say."""
    totals = Counter()
    base = Trial(root / "corruption-base")
    _finish(base, "xp", 0, 4)
    for name, corrupt in CORRUPTIONS.items():
        trial = Trial(root / f"corrupt-{name}")
        subprocess.run(["cp", "-a", str(base.workspace), str(trial.workspace)], check=True)
        db = trial.workspace / ".xpm" / "index.db"
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        corrupt(db)
        totals["trials"] += 1
        totals["expected"] += 4
        states = trial.job_states()
        totals["wrong"] += sum(state != "DONE" for state in states) + abs(len(states) - 4)
        listed = trial.xpm("experiments", "list")
        totals["wrong"] += "(4/4 jobs) done" not in listed.stdout
    return dict(totals)


def killed_jobs(root: Path, count: int) -> dict[str, int]:
    """kill -9 a job: while its driver follows it, and after its driver died."""
    totals = Counter(trials=2 * count, expected=2 * count)
    for number in range(count):
        for driver_alive in (True, False):
            trial = Trial(root / f"jobkill-{number}-{driver_alive}")
            driver = trial.driver("xp", kind="wait")
            _wait(lambda: bool(list(trial.workspace.glob("jobs/*/*/started"))))
            if not driver_alive:
                driver.kill()
                driver.wait()
            for pid in _pids(trial.workspace):
                os.killpg(pid, signal.SIGKILL)
            if driver_alive:
                driver.communicate(timeout=120)
            else:
                time.sleep(0.2)
            states = trial.job_states()
            totals["wrong"] += states != ["ERROR"]
            failed = list(trial.workspace.glob("jobs/*/*/wait.failed"))
            totals["wrong"] += not failed  # the files must record the end: NAME.failed
            totals["wrong"] += trial.run_status("xp") not in ("failed", "detached")
    return dict(totals)


@click.command(help=__doc__)
@click.option("--kills", default=20, show_default=True, help="Driver kills at random moments.")
@click.option("--concurrent", default=3, show_default=True, help="Trials of three concurrent drivers.")
@click.option("--job-kills", default=3, show_default=True, help="Trials of a job killed (with and without driver).")
@click.option("--seed", default=18, show_default=True, help="Seed of the random kill moments.")
def main(kills: int, concurrent: int, job_kills: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="xpm-faults-") as folder:
        root = Path(folder)
        for label, run in (
            ("driver kill -9 at random moments", lambda: driver_kills(root, kills, rng)),
            ("3 concurrent drivers, overlapping jobs", lambda: concurrent_drivers(root, concurrent)),
            (f"index corruption ({len(CORRUPTIONS)} kinds)", lambda: index_corruptions(root)),
            ("job kill -9 (driver alive / dead)", lambda: killed_jobs(root, job_kills)),
        ):
            click.echo(f"running: {label}...", err=True)
            started = time.monotonic()
            figures = run()
            rows.append((label, figures, time.monotonic() - started))
    header = ("trial kind", "trials", "executions expected", "duplicates", "lost", "wrong states", "time")
    table = [header] + [
        (label, str(f.get("trials", 0)), str(f.get("expected", 0)), str(f.get("duplicates", 0)),
         str(f.get("lost", 0)), str(f.get("wrong", 0)), f"{seconds:.0f} s")
        for label, f, seconds in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())


if __name__ == "__main__":
    main()
