"""experimaestro 2.7.0's keywords of ``experiment(...)``: accepted, deprecated ones warned about, applied.

Runs are real drivers in child processes (signal handlers, git, the web monitor); the checks of
the keywords themselves run in-process, where nothing is written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from xpm_core import DirtyGitAction, DirtyGitError, experiment

TASKS = '''
from xpm_core import Task, Param


class Hello(Task):
    who: Param[str]

    def execute(self):
        print("hello", self.who)
'''


def run_plan(folder: Path, body: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` (inside ``with experiment(...) as xp`` written by the body itself) as a script."""
    (folder / "tasks.py").write_text(TASKS)
    script = folder / "plan.py"
    script.write_text("import signal, sys, warnings\nfrom xpm_core import experiment\nfrom tasks import Hello\n"
                      + textwrap.dedent(body))
    environment = {**os.environ, "XPM_CONFIG_DIR": str(folder / "config"), "PYTHONPATH": str(folder), **env}
    environment.pop("XPM_LOCK_MODE", None)
    return subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=120,
                          env=environment)


# ---- accepted, checked, warned about ------------------------------------------------------------


def test_an_unknown_keyword_is_a_type_error_suggesting_the_closest(tmp_path):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'dirty_gti' \(did you mean 'dirty_git'\?\)"):
        experiment(tmp_path, "x", dirty_gti="warn")
    with pytest.raises(TypeError, match=r"'colour'; valid keywords: workdir, name, run_mode, .*wait_for_quit"):
        experiment(tmp_path, "x", colour=1)
    with pytest.raises(ValueError, match=r"experiment\(dirty_git='maybe'\): expected one of 'ignore', 'warn', 'error'"):
        experiment(tmp_path, "x", dirty_git="maybe")


@pytest.mark.parametrize(
    ("keyword", "value", "replacement"),
    [
        ("host", "127.0.0.1", "xpm run-experiment --web --host HOST"),
        ("port", 8080, "xpm run-experiment --web"),
        ("token", "secret", "XPM_WEB_TOKEN"),
        ("wait_for_quit", True, "keeps the web monitor up after the run until Ctrl-C"),
    ],
)
def test_deprecated_keywords_warn_with_their_replacement_at_the_callers_line(tmp_path, keyword, value, replacement):
    with pytest.warns(DeprecationWarning, match=rf"experiment\({keyword}=\.\.\.\) is deprecated: use .*") as caught:
        experiment(tmp_path, "x", **{keyword: value})
    assert replacement in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the user's call, not at xpm


def test_no_op_and_current_keywords_do_not_warn(tmp_path, recwarn):
    xp = experiment(tmp_path, "x", no_db=True, no_environmental_impact=True, register_signals=False,
                    project_paths=[tmp_path], dirty_git=DirtyGitAction.IGNORE, wait_for_quit=False)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
    assert xp.keywords.dirty_git == "ignore" and xp.keywords.project_paths == [tmp_path]


# ---- applied, in a real driver ------------------------------------------------------------------


def test_no_db_and_no_environmental_impact_run_as_usual(tmp_path):
    result = run_plan(tmp_path, f"""
        with experiment({str(tmp_path / 'ws')!r}, "plain", no_db=True, no_environmental_impact=True) as xp:
            Hello.C(who="world").submit()
        print("states", [job.state.value for job in xp.jobs.values()])
    """)
    assert result.returncode == 0, result.stderr
    assert "states ['done']" in result.stdout
    assert "Warning" not in result.stderr


def test_register_signals_false_leaves_the_signal_handlers_alone(tmp_path):
    result = run_plan(tmp_path, f"""
        before = signal.getsignal(signal.SIGTERM)
        with experiment({str(tmp_path / 'ws')!r}, "a", register_signals=False):
            print("kept", signal.getsignal(signal.SIGTERM) is before)
        with experiment({str(tmp_path / 'ws')!r}, "b"):
            print("caught", signal.getsignal(signal.SIGTERM) is not before)
        print("restored", signal.getsignal(signal.SIGTERM) is before)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["kept", "True", "caught", "True", "restored", "True"]


@pytest.fixture
def dirty_repository(tmp_path: Path) -> Path:
    """A git repository with a committed file changed since."""
    repository = tmp_path / "code"
    repository.mkdir()
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repository, check=True)
    (repository / "model.py").write_text("size = 1\n")
    subprocess.run([*git, "add", "."], cwd=repository, check=True)
    subprocess.run([*git, "commit", "-qm", "model"], cwd=repository, check=True)
    (repository / "model.py").write_text("size = 2\n")
    return repository


def test_dirty_git_error_refuses_before_anything_is_written(tmp_path, dirty_repository):
    workspace = tmp_path / "ws"
    with pytest.raises(DirtyGitError, match=r"has uncommitted changes .*; commit them, or set dirty_git=\"warn\""):
        with experiment(workspace, "x", dirty_git="error", project_paths=[dirty_repository]):
            pass
    assert not (workspace / "experiments").exists()


def test_dirty_git_warns_for_the_callers_folder_by_default_and_ignore_is_silent(tmp_path):
    # The plan script lives in a dirty repository: no project_paths, its folder is checked.
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "model.py").write_text("size = 1\n")
    subprocess.run([*git, "add", "model.py"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "model"], cwd=tmp_path, check=True)
    (tmp_path / "model.py").write_text("size = 2\n")
    warned = run_plan(tmp_path, f"""
        with experiment({str(tmp_path / 'ws')!r}, "x"):
            Hello.C(who="git").submit()
    """)
    assert warned.returncode == 0, warned.stderr
    assert f"xpm: warning: the code in {tmp_path} has uncommitted changes" in warned.stderr
    silent = run_plan(tmp_path, f"""
        with experiment({str(tmp_path / 'ws')!r}, "x", dirty_git="ignore"):
            Hello.C(who="git").submit()
    """)
    assert silent.returncode == 0 and "uncommitted" not in silent.stderr


def test_project_paths_are_the_projects_of_environment_json(tmp_path, dirty_repository):
    result = run_plan(tmp_path, f"""
        with experiment({str(tmp_path / 'ws')!r}, "x", project_paths=[{str(dirty_repository)!r}]) as xp:
            Hello.C(who="env").submit()
        print("run", xp.run_dir)
    """)
    assert result.returncode == 0, result.stderr
    assert f"the code in {dirty_repository} has uncommitted changes" in result.stderr
    run_dir = Path(result.stdout.split("run ", 1)[1].strip())
    projects = json.loads((run_dir / "environment.json").read_text())["projects"]
    assert [(project["path"], project["dirty"]) for project in projects] == [(str(dirty_repository), True)]


# ---- port= and wait_for_quit --------------------------------------------------------------------


def test_port_without_xpm_web_warns_what_to_install_and_runs(tmp_path):
    result = run_plan(tmp_path, f"""
        with experiment({str(tmp_path / 'ws')!r}, "x", port=0) as xp:
            Hello.C(who="web").submit()
        print("states", [job.state.value for job in xp.jobs.values()])
    """, XPM_LOAD_PLUGINS="")
    assert result.returncode == 0, result.stderr
    assert "DeprecationWarning: experiment(port=...) is deprecated" in result.stderr
    assert "experiment(port=...) starts the web monitor, which is not installed: pip install xpm-web" in result.stderr
    assert "states ['done']" in result.stdout


def test_port_opens_the_web_monitor_and_wait_for_quit_keeps_it_up_until_ctrl_c(tmp_path):
    pytest.importorskip("xpm_web")
    (tmp_path / "tasks.py").write_text(TASKS)
    (tmp_path / "plan.py").write_text(textwrap.dedent(f"""
        import warnings
        from xpm_core import experiment
        from tasks import Hello
        warnings.simplefilter("ignore", DeprecationWarning)
        with experiment({str(tmp_path / 'ws')!r}, "x", port=0, token="tok", wait_for_quit=True) as xp:
            Hello.C(who="web").submit()
        print("states", [job.state.value for job in xp.jobs.values()], flush=True)
    """))
    environment = {**os.environ, "XPM_CONFIG_DIR": str(tmp_path / "config"), "PYTHONPATH": str(tmp_path)}
    process = subprocess.Popen([sys.executable, str(tmp_path / "plan.py")], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    lines: list[str] = []
    stays_up = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "the web monitor stays up" in line:
                stays_up.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while not stays_up.wait(0.2):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
        url = next(line for line in lines if "xpm web monitor: open " in line).split("open ", 1)[1].strip()
        assert url.endswith("?token=tok")
        import urllib.request

        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(url, timeout=30) as page:
            assert page.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(lines)
        assert process.stdout is not None and "states ['done']" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_web_monitor_that_cannot_start_does_not_stop_the_run(tmp_path):
    pytest.importorskip("xpm_web")
    result = run_plan(tmp_path, f"""
        warnings.simplefilter("ignore", DeprecationWarning)
        with experiment({str(tmp_path / 'ws')!r}, "x", port=8080, host="256.0.0.1") as xp:
            Hello.C(who="no web").submit()
        print("states", [job.state.value for job in xp.jobs.values()])
    """)
    assert result.returncode == 0, result.stderr
    assert "xpm: warning: experiment(port=8080): the web monitor did not start: " in result.stderr
    assert "states ['done']" in result.stdout
