"""``xpm run-experiment``'s experimaestro options, run for real in a child process: --events-viewer,
--no-progress, --no-db, --watcher, --polling-interval, --web, and settings.yaml through --xpm-config-dir."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

TASKS = '''
import time
from xpm_core import Task, Param, Meta, field


class Train(Task):
    size: Param[int]
    sleep: Meta[float] = field(default=0.0)

    def execute(self):
        time.sleep(self.sleep)
        print("trained", self.size)


class Fail(Task):
    code: Param[int]

    def execute(self):
        raise RuntimeError("failing on purpose")
'''

PLAN = '''
from xpm_core import tag
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration
from tasks import Fail, Train


@configuration()
class Configuration(ConfigurationBase):
    sizes: list[int] = [1, 2]
    sleep: float = 0.0
    fail: bool = False


def run(helper: ExperimentHelper, cfg: Configuration):
    print("the plan's own output")
    for size in cfg.sizes:
        Train.C(size=tag(size), sleep=cfg.sleep).submit()
    if cfg.fail:
        Fail.C(code=1).submit()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "tasks.py").write_text(TASKS)
    (folder / "experiment.py").write_text(PLAN)
    (folder / "xp.yaml").write_text("id: options\n")
    (tmp_path / "config").mkdir()
    return folder


def command(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--workdir", str(project.parent / "ws"), *args]


def environment(project: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "XPM_CONFIG_DIR": str(project.parent / "config"), **extra}
    env.pop("XPM_LOCK_MODE", None)
    return env


def run_xp(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(project, *args), cwd=project, capture_output=True, text=True, timeout=120,
                          env=environment(project, **env))


# ---- --events-viewer -------------------------------------------------------------------------


def json_events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_events_viewer_json_streams_the_scheduler_events_for_scripts(project):
    (project / "xp.yaml").write_text("id: options\nfail: true\n")
    result = run_xp(project, "--events-viewer", "--events-format", "json")
    assert result.returncode == 1, result.stderr  # a job failed
    # The plan's own prints stay on stdout, beside the events (one JSON object per line).
    assert "the plan's own output" in result.stdout
    events = json_events(result.stdout)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "experiment_started" and kinds[-1] == "experiment_finished"
    assert events[0]["experiment_id"] == "options" and events[0]["workspace"] == str(project.parent / "ws")
    assert events[-1]["failed"] is True and events[-1]["run_id"] == events[0]["run_id"]

    submitted = {event["job_id"]: event for event in events if event["event"] == "job_submitted"}
    assert sorted(event["task_id"] for event in submitted.values()) == ["tasks.fail", "tasks.train", "tasks.train"]
    assert sorted(event["tags"].get("size", 0) for event in submitted.values()) == [0, 1, 2]
    for job_id, event in submitted.items():
        assert Path(event["path"]).is_dir()
        states = [e["state"] for e in events if e["event"] == "job_state" and e["job_id"] == job_id]
        # Submitted before any of its states; each change once, from the previous one.
        assert kinds.index("job_submitted") < kinds.index("job_state")
        assert states[-1] == ("error" if event["task_id"] == "tasks.fail" else "done"), states
        changes = [e for e in events if e["event"] == "job_state" and e["job_id"] == job_id]
        assert all(a["state"] == b["previous"] for a, b in zip(changes, changes[1:]))
    assert all(isinstance(event["time"], float) for event in events)


def test_events_viewer_text_lines_and_a_second_run_of_done_jobs(project):
    first = run_xp(project, "--events-viewer")
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line != "the plan's own output"]
    assert " experiment_started options run " in lines[0]
    assert any(" job_submitted tasks.train/" in line and "size=2" in line for line in lines)
    assert any(line.endswith("running -> done") for line in lines)
    assert " experiment_finished options run " in lines[-1]
    # Again: the jobs are done already; their events still come (waiting -> done), for scripts.
    again = run_xp(project, "--events-viewer", "--events-format", "json")
    done = [e for e in json_events(again.stdout) if e["event"] == "job_state" and e["state"] == "done"]
    assert len(done) == 2


def test_events_viewer_rejects_an_unknown_format(project):
    result = run_xp(project, "--events-viewer", "--events-format", "xml")
    assert result.returncode == 2
    assert "'xml' is not one of 'text', 'json'" in result.stderr


# ---- --no-progress, --no-db, --watcher, --polling-interval -------------------------------------


PROGRESS_LINE = re.compile(r"^\d\d:\d\d:\d\d jobs: ", re.MULTILINE)


def test_no_progress_hides_the_progress_line(project):
    (project / "xp.yaml").write_text("id: options\nsleep: 1.5\n")
    shown = run_xp(project)
    assert shown.returncode == 0, shown.stderr
    assert PROGRESS_LINE.search(shown.stderr)  # a log line when stderr is not a terminal
    (project / "xp.yaml").write_text("id: options\nsleep: 1.5\nsizes: [3]\n")
    hidden = run_xp(project, "--no-progress")
    assert hidden.returncode == 0, hidden.stderr
    assert not PROGRESS_LINE.search(hidden.stderr)
    assert "experiment options: 1 jobs" in hidden.stderr  # the summary stays


def test_no_db_is_accepted_and_does_nothing(project):
    result = run_xp(project, "--no-db")
    assert result.returncode == 0, result.stderr
    help_text = subprocess.run([sys.executable, "-m", "xpm_core", "run-experiment", "--help"],
                               capture_output=True, text=True, env=environment(project)).stdout
    assert "--no-db" in help_text and "does nothing" in help_text


def test_watcher_and_polling_interval_map_onto_launcher_polling(project):
    result = run_xp(project, "--watcher", "inotify", "--polling-interval", "0.2", "--events-viewer",
                    "--events-format", "json")
    assert result.returncode == 0, result.stderr
    assert "note" not in result.stderr  # inotify is xpm's too
    assert len([e for e in json_events(result.stdout) if e.get("state") == "done"]) == 2
    other = run_xp(project, "--watcher", "kqueue")
    assert other.returncode == 0 and "--watcher kqueue is not available in xpm: monitors poll" in other.stderr
    quiet = run_xp(project, "--watcher", "POLLING")
    assert quiet.returncode == 0 and "note" not in quiet.stderr
    wrong = run_xp(project, "--watcher", "magic")
    assert wrong.returncode == 2 and "'magic' is not one of" in wrong.stderr
    too_fast = run_xp(project, "--polling-interval", "0")
    assert too_fast.returncode == 2 and "--polling-interval" in too_fast.stderr


WATCHING_PLAN = '''
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration
from xpm_core.workspace.watcher import JobEndWatcher


@configuration()
class Configuration(ConfigurationBase):
    pass


def run(helper: ExperimentHelper, cfg: Configuration):
    # What a monitor of this run (--port, --web, --console) builds to notice job markers.
    watcher = JobEndWatcher(helper.xp.workspace)
    print("MARKER WATCHER", watcher.markers.mode, watcher.markers.interval)
'''


def test_watcher_options_choose_the_marker_watcher_of_the_run_monitors(project):
    (project / "watching.py").write_text(WATCHING_PLAN)
    (project / "xp.yaml").write_text("id: watching\nfile: watching\n")
    polling = run_xp(project, "--watcher", "polling", "--polling-interval", "0.3")
    assert polling.returncode == 0, polling.stderr
    assert "MARKER WATCHER polling 0.3" in polling.stdout
    # An interval alone means polling at that interval; --watcher inotify watches (on Linux).
    assert "MARKER WATCHER polling 0.7" in run_xp(project, "--polling-interval", "0.7").stdout
    if sys.platform.startswith("linux"):
        inotify = run_xp(project, "--watcher", "inotify", XPM_WATCHER="polling")
        assert "MARKER WATCHER inotify" in inotify.stdout, inotify.stderr
    # auto leaves the user's XPM_WATCHER alone.
    assert "MARKER WATCHER polling" in run_xp(project, XPM_WATCHER="polling").stdout


# ---- --xpm-config-dir: settings.yaml's lock_mode --------------------------------------------


def test_lock_mode_of_the_config_dir_sets_the_lock_files_permissions(project, tmp_path):
    config = tmp_path / "other-config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        f"workspaces:\n  - id: shared\n    path: {tmp_path / 'shared'}\n    lock_mode: \"0660\"\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--xpm-config-dir", str(config)],
        cwd=project, capture_output=True, text=True, timeout=120, env=environment(project),
    )
    assert result.returncode == 0, result.stderr
    workspace = tmp_path / "shared"
    locks = [workspace / "experiments" / "options" / "lock", *workspace.glob("jobs/tasks.train/*/train.lock")]
    assert len(locks) == 3, locks
    for lock in locks:
        assert stat.S_IMODE(lock.stat().st_mode) == 0o660, lock


# ---- --web ----------------------------------------------------------------------------------


def test_web_without_xpm_web_says_what_to_install(project):
    result = run_xp(project, "--web", XPM_LOAD_PLUGINS="")
    assert result.returncode == 2
    assert "--web needs the web monitor, which is not installed: pip install xpm-web" in result.stderr
    both = run_xp(project, "--web", "--console")
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_web_serves_the_run_and_stays_up_until_ctrl_c(project):
    pytest.importorskip("xpm_web")
    (project.parent / "config" / "settings.yaml").write_text("server: {port: 0, token: settings-token}\n")  # 0: a free port
    process = subprocess.Popen(command(project, "--web"), cwd=project, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment(project))
    lines: list[str] = []
    stays_up = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "the web monitor stays up" in line:
                stays_up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not stays_up.wait(0.2):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
        url = next(line for line in lines if "xpm web monitor: open " in line).split("open ", 1)[1].strip()
        assert url.endswith("?token=settings-token")  # the token of settings.yaml's server:
        assert any("experiment options: 2 jobs: 2 done" in line for line in lines)  # the outcome, before the wait
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())  # the token becomes a cookie
        with browser.open(url, timeout=30) as page:
            assert page.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
