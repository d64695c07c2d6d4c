"""Tokens, transient tasks, Prepare configurations, saved objects, and monitors that misbehave."""

from __future__ import annotations

import time
from collections import Counter

from runtime_support import driver_env, executions, run_driver, write_plan


def peak_concurrency(lines: list[str]) -> int:
    running = peak = 0
    for line in lines:
        if line.startswith("start"):
            running += 1
        elif line.startswith("end"):
            running -= 1
        peak = max(peak, running)
    return peak


def test_a_token_limits_jobs_across_drivers(tmp_path):
    plan = write_plan(tmp_path, """
    gpu = xp.token("gpu", 1)
    for index in range(3):
        gpu(1, Step.C(index=index, sleep=0.3)).submit()
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "tokens")
    assert "FAILED 0" in result.stdout, result.stderr
    lines = [line for line in executions(workspace) if "step" in line]
    assert len(lines) == 6 and peak_concurrency(lines) == 1
    assert list((workspace / ".xpm" / "tokens" / "gpu" / "holders").iterdir()) == []


def test_transient_tasks_run_only_when_needed(tmp_path):
    plan = write_plan(tmp_path, """
    from xpm_core.runtime.job import TransientMode
    Step.C(index=1).submit(transient=TransientMode.TRANSIENT)          # nobody needs it
    needed = Step.C(index=2).submit(transient=TransientMode.REMOVE)    # Consume needs it
    Consume.C(upstream=needed).submit()
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "transient")
    assert "FAILED 0" in result.stdout, result.stderr
    assert executions(workspace) == ["start step 2", "end step 2", "consume"]
    assert not (workspace / "jobs" / "tasks.step").exists() or not any(
        (workspace / "jobs" / "tasks.step").iterdir()
    )  # the REMOVE job's folder is gone, the unneeded one never existed


def test_prepare_runs_once_and_not_for_done_jobs(tmp_path):
    plan = write_plan(tmp_path, """
    data = Download.C(url="https://example.org/corpus")
    for index in range(3):
        UseData.C(data=data, index=index).submit()
    """)
    workspace = tmp_path / "ws"
    assert "FAILED 0" in run_driver(plan, workspace, "prepare").stdout
    assert Counter(executions(workspace)) == Counter(
        ["prepare https://example.org/corpus", "use 0", "use 1", "use 2"]
    )
    (tmp_path / "downloaded").unlink()  # even if it would need preparing, done jobs do not
    assert "FAILED 0" in run_driver(plan, workspace, "prepare").stdout
    assert len(executions(workspace)) == 4


def test_prepare_run_mode_only_prepares(tmp_path):
    plan = write_plan(tmp_path, """
    UseData.C(data=Download.C(url="u"), index=0).submit()
    """)
    workspace = tmp_path / "ws"
    assert run_driver(plan, workspace, "prepare", "PREPARE").returncode == 0
    assert executions(workspace) == ["prepare u"]


def test_saved_objects_are_loaded_by_another_experiment(tmp_path):
    saver = write_plan(tmp_path, """
    xp.save({"model": Model.C(name="m", hidden_size=3), "note": "best"}, name="best")
    """, "saver.py")
    loader = write_plan(tmp_path, """
    saved = xp.load("saver", name="best")
    print("LOADED", saved["note"], saved["model"].hidden_size)
    """, "loader.py")
    workspace = tmp_path / "ws"
    assert run_driver(saver, workspace, "saver").returncode == 0
    result = run_driver(loader, workspace, "loader")
    assert "LOADED best 3" in result.stdout, result.stderr


MONITORS = '''
import time
from xpm_core import hookimpl

@hookimpl
def xpm_job_state_changed(job, previous, current):
    raise RuntimeError("broken monitor")

@hookimpl
def xpm_experiment_started(experiment):
    time.sleep(300)  # a monitor that hangs
'''


def test_broken_and_hanging_monitors_do_not_disturb_the_run(tmp_path, plugin_site):
    plugin_site.install("xpm-bad-monitor", {"bad": "bad_monitor"}, {"bad_monitor.py": MONITORS})
    plan = write_plan(tmp_path, "for i in range(3):\n    Step.C(index=i).submit()")
    workspace = tmp_path / "ws"
    env = plugin_site.env(**{"XPM_TEST_LOG": driver_env(workspace)["XPM_TEST_LOG"]})
    import subprocess
    import sys

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(plan), str(workspace), "monitors"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert "FAILED 0" in result.stdout, result.stderr
    assert len([line for line in executions(workspace) if line.startswith("end")]) == 3
    assert time.monotonic() - started < 60  # not held by the hanging monitor
    assert "hooks did not take every event" in result.stderr


SETTINGS = """
env:
  XPM_FROM_SETTINGS: global
launchers:
  direct:
    max_running: 1
workspaces:
  - id: main
    path: {workspace}
    env:
      XPM_FROM_WORKSPACE: main
"""


def test_settings_give_job_environment_and_the_direct_launcher_cap(tmp_path):
    workspace = tmp_path / "ws"
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(SETTINGS.format(workspace=workspace))
    plan = tmp_path / "settings_plan.py"
    write_plan(tmp_path, "")  # tasks.py
    plan.write_text(
        "import os, sys\n"
        "from xpm_core import experiment\n"
        "from xpm_core.settings.settings_file import load_settings\n"
        "from tasks import Env, Step\n"
        "if __name__ == '__main__':\n"
        "    with experiment(load_settings().workspace('main'), 'settings') as xp:\n"
        "        Env.C().submit()\n"
        "        for index in range(3):\n"
        "            Step.C(index=index, sleep=0.2).submit()\n"
        "    print('FAILED', len(xp.failed_jobs()))\n"
    )
    import subprocess
    import sys

    env = {**driver_env(workspace), "XPM_CONFIG_DIR": str(config)}
    result = subprocess.run([sys.executable, str(plan)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "FAILED 0" in result.stdout, result.stderr
    assert "env global main" in executions(workspace)
    assert peak_concurrency([line for line in executions(workspace) if "step" in line]) == 1


def test_a_bad_launcher_option_in_settings_is_reported(tmp_path, monkeypatch):
    import pytest

    from xpm_core.settings.launchers import LauncherSettingsError, configured_launcher

    (tmp_path / "settings.yaml").write_text("launchers:\n  direct:\n    max_runing: 2\n")
    monkeypatch.setenv("XPM_CONFIG_DIR", str(tmp_path))
    with pytest.raises(LauncherSettingsError, match=r"launchers.direct: unknown option\(s\) max_runing; valid options: max_running"):
        configured_launcher("direct")


def test_remaining_time_comes_from_the_launchers_provider(tmp_path):
    plan = write_plan(tmp_path, """
    xp.setenv("XPM_REMAINING_TIME", "tasks:fixed_remaining")
    Remaining.C().submit()
    """)
    workspace = tmp_path / "ws"
    assert "FAILED 0" in run_driver(plan, workspace, "remaining").stdout
    assert executions(workspace) == ["remaining 42.0"]


def test_a_job_the_launcher_ended_at_its_time_limit_resumes(tmp_path):
    plan = write_plan(tmp_path, """
    from xpm_core.plugin.launcher import ProcessState, ProcessStatus

    class TimeLimitLauncher(DirectLauncher):
        # Says what a batch system says of a job it stopped at its time limit.
        async def poll(self, refs):
            states = await super().poll(refs)
            return {
                key: ProcessState(state.status, state.exit_code, "timeout")
                if state.status is ProcessStatus.FINISHED else state
                for key, state in states.items()
            }

    KilledAtTimeLimit.C().submit(launcher=TimeLimitLauncher())
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "timelimit")
    assert "FAILED 0" in result.stdout, result.stderr
    assert executions(workspace) == ["attempt 1", "attempt 2"]
