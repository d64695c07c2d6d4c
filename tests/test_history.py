"""Run history: automatic pruning at the end of a run, ``xpm experiments history / history-prune``,
and run tags (``tag`` / ``tags`` / ``untag``), with real drivers and the real ``xpm``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_support import one_line_error, xpm
from runtime_support import run_driver, start_driver, wait_for, write_plan

PLANS = {
    "ok": 'Step.C(index=int(os.environ["STEP"])).submit()',
    "bad": 'Fail.C(code=int(os.environ["STEP"])).submit()',
    "slow": 'Step.C(index=int(os.environ["STEP"]), sleep=3.0).submit()',
}


@pytest.fixture
def plans(tmp_path) -> dict[str, Path]:
    return {name: write_plan(tmp_path, "import os\n" + body, name=f"{name}.py") for name, body in PLANS.items()}


def run(plan: Path, workspace: Path, step: int) -> str:
    """Run the plan as experiment "xp" (STEP makes each run's job new); the run's id."""
    os.environ["STEP"] = str(step)
    try:
        result = run_driver(plan, workspace, "xp")
    finally:
        del os.environ["STEP"]
    assert result.returncode == 0, result.stderr
    return os.readlink(workspace / "experiments" / "xp" / "current")


def history(workspace: Path) -> list[dict]:
    result = xpm("experiments", "history", "xp", "--json", "--workdir", str(workspace))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_ids(workspace: Path) -> list[str]:
    return [entry["run_id"] for entry in history(workspace)]


def test_a_successful_run_removes_older_failures_and_one_failure_is_kept(plans, tmp_path):
    workspace = tmp_path / "ws"
    first_failure = run(plans["bad"], workspace, 1)
    second_failure = run(plans["bad"], workspace, 2)
    # max_failed=1: the second failure removed the first.
    assert run_ids(workspace) == [second_failure]
    success = run(plans["ok"], workspace, 3)
    assert run_ids(workspace) == [success]  # a success makes the failures before it history
    third_failure = run(plans["bad"], workspace, 4)
    entries = history(workspace)
    assert [(e["run_id"], e["status"]) for e in entries] == [(success, "done"), (third_failure, "failed")]
    assert entries[-1]["current"] and entries[-1]["job_states"] == {"error": 1}
    assert not (workspace / "experiments" / "xp" / first_failure).exists()

    # Job folders are never removed: the failures' jobs are orphans now.
    assert len(list((workspace / "jobs" / "tasks.fail").iterdir())) == 3
    orphans = xpm("orphans", str(workspace))
    assert orphans.stdout.count("tasks.fail/") == 2, orphans.stdout
    # The index forgot the removed runs: their jobs are not the experiment's any more.
    listed = xpm("jobs", "list", "--experiment", "xp", "--workdir", str(workspace))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("tasks.fail/") == 1 and listed.stdout.count("tasks.step/") == 1

    table = xpm("experiments", "history", "xp", "--workdir", str(workspace))
    assert table.stdout.splitlines()[0].split() == ["RUN", "STATUS", "STARTED", "DURATION", "JOBS", "TAGS"]
    assert f"{third_failure} *" in table.stdout and "0/1 done, 1 error" in table.stdout


def test_prune_by_hand_keeps_tagged_runs_and_dry_run_changes_nothing(plans, tmp_path):
    workspace = tmp_path / "ws"
    runs = [run(plans["ok"], workspace, step) for step in (1, 2, 3, 4)]
    assert run_ids(workspace) == runs  # 4 successes: under the default max_done=5

    dry = xpm("experiments", "history-prune", "xp", "--max-done", "1", "--dry-run", "--workdir", str(workspace))
    assert dry.returncode == 0, dry.stderr
    assert [line.split()[3] for line in dry.stdout.splitlines() if line.startswith("would remove")] == runs[:3]
    assert run_ids(workspace) == runs

    tagged = xpm("experiments", "tag", "xp", "oldest", "baseline", "--workdir", str(workspace))
    assert tagged.returncode == 0, tagged.stderr
    pruned = xpm("experiments", "history-prune", "xp", "--max-done", "1", "--workdir", str(workspace))
    assert pruned.returncode == 0, pruned.stderr
    assert run_ids(workspace) == [runs[0], runs[3]]  # the tagged run and the newest one
    assert "now orphans" in pruned.stdout
    assert history(workspace)[0]["tags"] == ["baseline"]


def test_tags_name_one_run_each(plans, tmp_path):
    workspace = tmp_path / "ws"
    first, second = run(plans["ok"], workspace, 1), run(plans["ok"], workspace, 2)

    def cli(*args: str):
        return xpm("experiments", *args, "--workdir", str(workspace))

    assert cli("tag", "xp", "latest", "best").returncode == 0
    assert cli("tag", "xp", first, "paper").returncode == 0
    assert json.loads(cli("tags", "xp", "--json").stdout) == {"best": second, "paper": first}
    status = json.loads((workspace / "experiments" / "xp" / second / "status.json").read_text())
    assert status["run_tags"] == ["best"]

    refused = cli("tag", "xp", "oldest", "best")
    assert f"the tag 'best' is on run {second}" in one_line_error(refused) and refused.returncode == 2
    assert cli("tag", "xp", "oldest", "best", "--force").returncode == 0
    assert json.loads(cli("tags", "xp", "--json").stdout) == {"best": first, "paper": first}

    assert cli("untag", "xp", "paper").returncode == 0
    assert "paper" not in cli("tags", "xp").stdout
    missing = cli("untag", "xp", "paper")
    assert "no run of xp has the tag 'paper'" in one_line_error(missing)
    unknown_run = cli("tag", "xp", "20000101_000000", "x")
    assert "no run '20000101_000000'" in one_line_error(unknown_run)
    empty = cli("tag", "xp", "latest", " ")
    assert "invalid tag ' '" in one_line_error(empty) and empty.returncode == 2
    unknown = cli("tags", "nope")
    assert "no experiment 'nope'" in one_line_error(unknown) and unknown.returncode == 2


def test_a_tag_put_while_the_run_runs_is_kept_when_it_ends(plans, tmp_path):
    workspace = tmp_path / "ws"
    os.environ["STEP"] = "1"
    try:
        driver = start_driver(plans["slow"], workspace, "xp")
    finally:
        del os.environ["STEP"]
    current = workspace / "experiments" / "xp" / "current"
    wait_for(lambda: (current / "jobs.jsonl").exists() and (current / "jobs.jsonl").read_text(), "the job")
    assert xpm("experiments", "tag", "xp", "latest", "live", "--workdir", str(workspace)).returncode == 0
    assert driver.wait(timeout=120) == 0
    entries = history(workspace)
    assert entries[-1]["status"] == "done" and entries[-1]["tags"] == ["live"]


def test_settings_history_sets_how_many_runs_are_kept(plans, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("history:\n  max_done: 1\n  max_failed: 0\n")
    monkeypatch.setenv("XPM_CONFIG_DIR", str(config))
    workspace = tmp_path / "ws"
    run(plans["ok"], workspace, 1)
    latest = run(plans["ok"], workspace, 2)
    assert run_ids(workspace) == [latest]
    failure = run(plans["bad"], workspace, 3)
    assert run_ids(workspace) == [latest, failure]  # the latest run is always kept


def test_prune_by_experimaestro_selection_before_after_status_keep(plans, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("history:\n  max_done: 10\n  max_failed: 10\n")
    monkeypatch.setenv("XPM_CONFIG_DIR", str(config))
    workspace = tmp_path / "ws"
    ok1, ok2 = run(plans["ok"], workspace, 1), run(plans["ok"], workspace, 2)
    bad3, bad4 = run(plans["bad"], workspace, 3), run(plans["bad"], workspace, 4)
    assert run_ids(workspace) == [ok1, ok2, bad3, bad4]

    def prune(*args: str):
        return xpm("experiments", "history-prune", "xp", *args, "--workdir", str(workspace))

    dry = prune("--status", "failed", "--keep", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [line.split()[3] for line in dry.stdout.splitlines() if line.startswith("would remove")] == [bad3]
    assert "status=failed, keep=1" in dry.stdout and run_ids(workspace) == [ok1, ok2, bad3, bad4]

    nothing = prune("--before", "20000101")
    assert nothing.returncode == 0 and "Nothing to remove (before=20000101_000000)" in nothing.stdout

    assert prune("--status", "failed", "--keep", "1").returncode == 0
    assert run_ids(workspace) == [ok1, ok2, bad4]
    # ISO times and "completed" (experimaestro's name for done) work too.
    between = prune("--after", "2000-01-01", "--before", "2999-12-31T00:00", "--status", "completed", "--keep", "1")
    assert between.returncode == 0, between.stderr
    assert f"removed run {ok1}" in between.stdout and run_ids(workspace) == [ok2, bad4]
    # The latest run is never removed, whatever the selection.
    assert "Nothing to remove" in prune("--status", "failed").stdout and run_ids(workspace) == [ok2, bad4]

    # On a terminal the selection is confirmed first, unless --force.
    assert "Nothing removed." in prune_on_terminal(workspace, "n", "--status", "completed")
    assert run_ids(workspace) == [ok2, bad4]
    confirmed = prune_on_terminal(workspace, "y", "--before", "2999-01-01")
    assert f"will remove run {ok2}" in confirmed and "Remove 1 run(s)? [y/N]" in confirmed
    assert run_ids(workspace) == [bad4]

    mixed = prune("--max-done", "1", "--status", "failed")
    assert mixed.returncode == 2 and "do not go together" in one_line_error(mixed)
    bad_time = prune("--before", "yesterday")
    assert bad_time.returncode == 2 and "--before: 'yesterday' is not a time" in one_line_error(bad_time)


def prune_on_terminal(workspace: Path, answer: str, *args: str) -> str:
    """``history-prune`` with a pseudo-terminal as standard input, answering its question."""
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "xpm_core", "experiments", "history-prune", "xp", *args,
               "--workdir", str(workspace)]
    with subprocess.Popen(command, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "XPM_LOAD_PLUGINS": ""}, text=True) as process:
        os.close(terminal)
        os.write(controller, (answer + "\n").encode())
        output, _ = process.communicate(timeout=120)
    os.close(controller)
    assert process.returncode == 0, output
    return output
