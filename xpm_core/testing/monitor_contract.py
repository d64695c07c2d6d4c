"""MonitorContract: the behaviour every monitor (console, web UI, ...) shows, fed by a fake experiment.

The fake experiment writes to a real workspace what a driver writes (the run, its jobs and
their states in the workspace index, the jobs' marker files), step by step; the monitor must
show each step, keep going when its own refresh raises, and close cleanly, more than once.
"""

from __future__ import annotations

import _thread
import socket
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

import pytest

from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.monitor import Monitor
from xpm_core.testing.contract_base import Contract

EXPERIMENT_ID = "contract-xp"
RUN_ID = "20250101_000000"
#: (job id, task id, tags) of the fake experiment's jobs.
JOBS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("a1" * 32, "contract.Train", {"lr": 0.1}),
    ("b2" * 32, "contract.Train", {"lr": 0.01}),
    ("c3" * 32, "contract.Evaluate", {}),
)


class FakeExperiment:
    """Writes what a driver writes for a run of three jobs: one done, one failed, one left running."""

    def __init__(self, workspace: Path) -> None:
        from xpm_core.workspace.index import WorkspaceIndex

        self.workspace = workspace
        self.index = WorkspaceIndex(workspace)

    def job_path(self, job_id: str, task_id: str) -> Path:
        return self.workspace / "jobs" / task_id / job_id

    def start(self) -> None:
        """The run starts and submits its jobs, which wait."""
        from xpm_core.workspace.records import JobSubmission

        run_dir = self.workspace / "experiments" / EXPERIMENT_ID / RUN_ID
        run_dir.mkdir(parents=True)
        self.index.record_run_started(EXPERIMENT_ID, RUN_ID, socket.gethostname(), time.time())
        submissions = []
        for job_id, task_id, tags in JOBS:
            self.job_path(job_id, task_id).mkdir(parents=True)
            submissions.append(JobSubmission(job_id=job_id, task_id=task_id, path=self.job_path(job_id, task_id), tags=tags, submitted_time=time.time()))
        self.index.record_jobs_submitted(EXPERIMENT_ID, RUN_ID, submissions)
        for job_id, _, _ in JOBS:
            self.index.record_job_state(job_id, JobState.WAITING)

    def progress(self) -> None:
        """Every job runs; the first ends done, the second fails."""
        now = time.time()
        for job_id, _, _ in JOBS:
            self.index.record_job_state(job_id, JobState.RUNNING, started=now)
        (done_id, done_task, _), (failed_id, failed_task, _) = JOBS[0], JOBS[1]
        (self.job_path(done_id, done_task) / f"{done_task.rsplit('.', 1)[-1]}.done").touch()
        self.index.record_job_state(done_id, JobState.DONE, ended=now, exit_code=0)
        marker = self.job_path(failed_id, failed_task) / f"{failed_task.rsplit('.', 1)[-1]}.failed"
        marker.write_text('{"code": 1, "reason": "failed"}')
        self.index.record_job_state(failed_id, JobState.ERROR, failure_reason="failed", ended=now, exit_code=1)

    def close(self) -> None:
        self.index.close()


class MonitorContract(Contract):
    """Subclass as ``TestWebMonitor(MonitorContract)``; set ``monitor_name`` and implement ``shown_states``.

    ``shown_states(monitor)`` reads what the monitor shows a user now (its screen, its web page)
    and returns {job identifier or its shown prefix: state name}. ``monitor_options`` are given
    to the factory (a port, a stream, ...).
    """

    monitor_name: ClassVar[str]
    #: Seconds the monitor may take to show a change (a few refresh intervals).
    patience: ClassVar[float] = 30.0
    #: Seconds between two refreshes during the tests.
    interval: ClassVar[float] = 0.05

    def monitor_options(self, tmp_path: Path) -> Mapping[str, Any]:
        return {}

    def shown_states(self, monitor: Monitor) -> Mapping[str, str]:
        raise NotImplementedError("a MonitorContract subclass says what its monitor shows")

    # ---- fixtures and helpers ------------------------------------------------------------

    @pytest.fixture
    def workspace(self, tmp_path: Path) -> Path:
        path = tmp_path / "workspace"
        path.mkdir()
        return path

    @pytest.fixture
    def fake_experiment(self, workspace: Path) -> Iterator[FakeExperiment]:
        fake = FakeExperiment(workspace)
        yield fake
        fake.close()

    @pytest.fixture
    def make_monitor(self, workspace: Path, tmp_path: Path) -> Iterator[Any]:
        created: list[Monitor] = []

        def make(**options: Any) -> Monitor:
            monitor = self.registry.monitors()[self.monitor_name].create(
                workspace, experiment_id=EXPERIMENT_ID, interval=self.interval,
                **{**self.monitor_options(tmp_path), **options},
            )
            created.append(monitor)
            return monitor

        yield make
        for monitor in created:
            monitor.close()

    def state_of(self, monitor: Monitor, job_id: str) -> str | None:
        """The state the monitor shows for ``job_id`` (lower case), matched by identifier prefix."""
        for shown, state in self.shown_states(monitor).items():
            if len(shown) >= 6 and job_id.startswith(shown):
                return state.lower()
        return None

    def wait_until_shown(self, monitor: Monitor, expected: Mapping[str, str]) -> None:
        deadline = time.monotonic() + self.patience
        while True:
            shown = {job_id: self.state_of(monitor, job_id) for job_id in expected}
            if shown == dict(expected):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the monitor shows {shown}, expected {dict(expected)}")
            time.sleep(self.interval)

    # ---- the contract --------------------------------------------------------------------

    def test_is_registered(self) -> None:
        monitors = self.registry.monitors()
        assert self.monitor_name in monitors, f"no monitor {self.monitor_name!r}: {sorted(monitors)}"

    def test_is_a_monitor(self, make_monitor) -> None:
        assert isinstance(make_monitor(), Monitor)

    def test_shows_the_event_sequence(self, make_monitor, fake_experiment: FakeExperiment) -> None:
        monitor = make_monitor()
        monitor.start()
        fake_experiment.start()
        self.wait_until_shown(monitor, {job_id: "waiting" for job_id, _, _ in JOBS})
        fake_experiment.progress()
        (done, _, _), (failed, _, _), (running, _, _) = JOBS
        self.wait_until_shown(monitor, {done: "done", failed: "error", running: "running"})

    def test_survives_its_own_exceptions(self, make_monitor, fake_experiment: FakeExperiment) -> None:
        monitor = make_monitor()
        refresh = monitor.refresh
        failures: list[int] = []

        def broken_refresh() -> None:
            if len(failures) < 3:
                failures.append(1)
                raise RuntimeError("a bug in the monitor")
            refresh()

        monitor.refresh = broken_refresh  # type: ignore[method-assign]
        monitor.start()
        fake_experiment.start()
        fake_experiment.progress()
        (done, _, _), (failed, _, _), _ = JOBS
        self.wait_until_shown(monitor, {done: "done", failed: "error"})
        # A monitor may also draw from its own timer, so the states can show before the third
        # failing refresh: what matters is that refresh keeps being retried after each failure.
        self.until(lambda: len(failures) == 3, "three failed refreshes, each retried")

    def test_close_is_idempotent(self, make_monitor, fake_experiment: FakeExperiment) -> None:
        never_started = make_monitor()
        never_started.close()
        never_started.close()
        monitor = make_monitor()
        monitor.start()
        fake_experiment.start()
        monitor.close()
        monitor.close()
        assert monitor.closed
        refreshing = [thread for thread in threading.enumerate() if thread.name == f"xpm-monitor-{type(monitor).__name__}"]
        assert not refreshing, "close() must stop the refresh thread"

    def test_run_returns_on_ctrl_c(self, make_monitor, fake_experiment: FakeExperiment) -> None:
        monitor = make_monitor()
        fake_experiment.start()
        # Ctrl-C is KeyboardInterrupt in the main thread: what interrupt_main() raises there.
        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        try:
            monitor.run()
        finally:
            timer.cancel()
        assert monitor.closed
