"""The console monitor: the MonitorContract, what it draws, and ``xpm experiments monitor`` run for real."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys

import pytest

from xpm_core.builtin.console.monitor import HEADER, ConsoleMonitor
from xpm_core.plugin.job_state import JobState
from xpm_core.testing import MonitorContract
from xpm_core.testing.monitor_contract import EXPERIMENT_ID, JOBS, FakeExperiment

_JOB_ROW = re.compile(r"^\s+([A-Z_]+)\s+\S+/([0-9a-f]{12})\b", re.M)


def last_frame(text: str) -> str:
    start = text.rfind(HEADER)
    return text[start:] if start >= 0 else ""


def states_in(text: str) -> dict[str, str]:
    return {prefix: state for state, prefix in _JOB_ROW.findall(last_frame(text))}


class TestConsoleMonitor(MonitorContract):
    monitor_name = "console"

    def monitor_options(self, tmp_path):
        return {"stream": io.StringIO()}

    def shown_states(self, monitor):
        return states_in(monitor.stream.getvalue())


def test_frame_shows_counts_tags_and_failed_jobs_with_their_log(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    fake = FakeExperiment(workspace)
    fake.start()
    fake.progress()
    stream = io.StringIO()
    monitor = ConsoleMonitor(workspace, experiment_id=EXPERIMENT_ID, stream=stream)
    monitor.refresh()
    monitor.close()
    fake.close()
    frame = last_frame(stream.getvalue())
    (done, _, _), (failed, failed_task, _), (running, _, _) = JOBS
    assert "jobs: 1 done, 1 running, 0 waiting, 1 failed" in frame
    assert states_in(frame) == {done[:12]: "DONE", failed[:12]: "ERROR", running[:12]: "RUNNING"}
    assert "lr=0.01" in frame and "lr=0.1" in frame
    assert f"{failed_task}/{failed[:12]} (failed)" in frame
    assert f"log: {workspace / 'jobs' / failed_task / failed / 'Train.err'}" in frame


def test_without_an_experiment_it_lists_the_experiments(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    fake = FakeExperiment(workspace)
    fake.start()
    fake.progress()
    fake.close()
    stream = io.StringIO()
    monitor = ConsoleMonitor(workspace, stream=stream)
    monitor.refresh()
    monitor.close()
    frame = last_frame(stream.getvalue())
    assert re.search(rf"{EXPERIMENT_ID}\s+20250101_000000\s+running\s+1 done, 1 running, 0 waiting, 1 failed", frame)


def test_an_unchanged_view_is_not_drawn_again(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    stream = io.StringIO()
    monitor = ConsoleMonitor(workspace, experiment_id="never-run", stream=stream)
    monitor.refresh()
    monitor.refresh()
    monitor.close()
    assert stream.getvalue().count(HEADER) == 1
    assert "waiting for experiment never-run to start" in stream.getvalue()


MONITOR = [sys.executable, "-m", "xpm_core", "experiments", "monitor"]


def run_monitor(*args: str) -> subprocess.CompletedProcess[str]:
    # No plugin loaded: the web monitor is absent even where xpm-web is installed.
    env = {**os.environ, "XPM_LOAD_PLUGINS": ""}
    return subprocess.run([*MONITOR, *args], capture_output=True, text=True, timeout=60, env=env)


def test_monitor_command_follows_an_experiment_until_ctrl_c(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    fake = FakeExperiment(workspace)
    fake.start()
    fake.progress()
    fake.close()
    process = subprocess.Popen(
        [*MONITOR, "--workdir", str(workspace), "--console", EXPERIMENT_ID],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    for line in process.stdout:  # the first frame ends with the failed job's log line
        lines.append(line)
        if "log:" in line:
            break
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "jobs: 1 done, 1 running, 0 waiting, 1 failed" in "".join(lines)


def test_monitor_command_sync_rebuilds_the_index_from_the_files(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    fake = FakeExperiment(workspace)  # records a run in the index only: no status.json, no jobs.jsonl
    fake.start()
    fake.close()
    process = subprocess.Popen(
        [*MONITOR, "--workdir", str(workspace), "--console"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    header, table = process.stdout.readline(), process.stdout.readline()
    listed = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert header.startswith(HEADER) and "EXPERIMENT" in table and listed.split()[0] == EXPERIMENT_ID
    synced = subprocess.Popen(
        [*MONITOR, "--workdir", str(workspace), "--console", "--sync"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    header, message = synced.stdout.readline(), synced.stdout.readline()
    synced.send_signal(signal.SIGINT)
    synced.communicate(timeout=60)
    assert synced.returncode == 0
    assert message.strip() == "no experiment has run in this workspace yet"


def test_monitor_command_uses_the_console_when_the_web_monitor_is_missing(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "jobs").mkdir(parents=True)
    process = subprocess.Popen(
        [*MONITOR, "--workdir", str(workspace)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "XPM_LOAD_PLUGINS": ""},
    )
    header = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert header.startswith(f"{HEADER} · workspace {workspace}")
    assert "the web monitor is not installed (pip install xpm-web): using the console view" in stderr


def test_monitor_command_errors(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "jobs").mkdir(parents=True)
    unknown = run_monitor("--workdir", str(workspace), "--console", "nope")
    assert unknown.returncode == 2
    assert "no experiment 'nope'" in unknown.stderr
    not_a_workspace = run_monitor("--workdir", str(tmp_path / "empty"), "--console")
    assert not_a_workspace.returncode == 2
    assert "is not a workspace" in not_a_workspace.stderr
    web = run_monitor("--workdir", str(workspace), "--port", "8080")
    assert web.returncode == 2
    assert "pip install xpm-web" in web.stderr


@pytest.mark.parametrize("state", [JobState.SCHEDULED, JobState.READY])
def test_queued_jobs_count_as_waiting(state):
    from xpm_core.experiments.progress import StateCounts

    counts = StateCounts.of([state, JobState.DONE, JobState.ERROR, JobState.RUNNING])
    assert str(counts) == "1 done, 1 running, 1 waiting, 1 failed"
