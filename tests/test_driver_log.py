"""The driver's log kept in the workspace (``WS/.scheduler/logs/``), its retention, and
``xpm experiments log``: real drivers, the real ``xpm``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cli_support import one_line_error, xpm
from runtime_support import run_driver, write_plan

# The plan's console shows warnings only, as a user's script often does.
QUIET_MAIN = """
if __name__ == '__main__':
    logging.basicConfig(level=logging.WARNING)
    with experiment(sys.argv[1], sys.argv[2]) as xp:
        plan(xp)
"""


def quiet_plan(folder: Path) -> Path:
    plan = write_plan(folder, "Fail.C(code=1).submit()\nStep.C(index=1).submit()")
    text = plan.read_text()
    plan.write_text(text[: text.index("if __name__")] + QUIET_MAIN)
    return plan


def age(path: Path, days: float) -> None:
    stamp = time.time() - days * 24 * 3600
    os.utime(path, (stamp, stamp))


def test_the_driver_log_holds_info_lines_the_console_does_not_show(tmp_path):
    workspace = tmp_path / "ws"
    result = run_driver(quiet_plan(tmp_path), workspace, "xp")
    run_id = os.readlink(workspace / "experiments" / "xp" / "current")
    assert "INFO" not in result.stderr  # writing INFO to the file does not flood the console
    assert "failed (failed): tasks.fail/" in result.stderr  # the summary's errors still show

    shown = xpm("experiments", "log", "xp", "--workdir", str(workspace))
    assert shown.returncode == 0, shown.stderr
    assert f"INFO xpm.experiment: experiment xp: run {run_id} in" in shown.stdout
    assert "ERROR xpm.experiment.summary: failed (failed): tasks.fail/" in shown.stdout
    assert "INFO xpm.scheduler: job tasks.fail/" in shown.stdout and ": ERROR (failed)" in shown.stdout
    assert "INFO xpm.scheduler: job tasks.step/" in shown.stdout and ": DONE" in shown.stdout

    path = xpm("experiments", "log", "xp", run_id, "--path", "--workdir", str(workspace))
    assert path.stdout.strip() == str(workspace / ".scheduler" / "logs" / "xp" / f"{run_id}.log")
    missing = xpm("experiments", "log", "xp", "20000101_000000", "--workdir", str(workspace))
    assert f"runs with a log: {run_id}" in one_line_error(missing) and missing.returncode == 2
    unknown = xpm("experiments", "log", "nope", "--workdir", str(workspace))
    assert "no driver log of experiment 'nope'" in one_line_error(unknown)


def test_old_logs_are_deleted_at_most_daily_after_the_retention(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    plan = write_plan(tmp_path, "Step.C(index=1).submit()")
    logs = workspace / ".scheduler" / "logs"
    (logs / "old").mkdir(parents=True)
    old, recent = logs / "old" / "20200101_000000.log", logs / "old" / "20200102_000000.log"
    for path, days in ((old, 20), (recent, 3)):
        path.write_text("old\n")
        age(path, days)
    (logs / ".last_cleanup").touch()  # cleaned an hour ago: not again today
    age(logs / ".last_cleanup", 1 / 24)
    assert run_driver(plan, workspace, "xp").returncode == 0
    assert old.exists()

    age(logs / ".last_cleanup", 2)  # two days ago: cleaned at the next start
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("driver_log_days: 30\n")
    monkeypatch.setenv("XPM_CONFIG_DIR", str(config))
    assert run_driver(plan, workspace, "xp").returncode == 0
    assert old.exists()  # 20 days < 30: kept

    age(logs / ".last_cleanup", 2)
    monkeypatch.delenv("XPM_CONFIG_DIR")  # the default retention: 15 days
    assert run_driver(plan, workspace, "xp").returncode == 0
    assert not old.exists() and recent.exists()
    assert len(list((logs / "xp").glob("*.log"))) == 3
