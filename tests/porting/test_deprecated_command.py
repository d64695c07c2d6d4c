"""``xpm deprecated list [--fix] [--cleanup]`` and ``xpm deprecated diff`` on a real workspace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

V1 = '''
from xpm_core import Config, Task, Param

class Scorer(Config):
    k: Param[int]

class Rank(Task):
    scorer: Param[Config]
    def execute(self):
        pass
'''

V2 = '''
from xpm_core import Config, Task, Param, deprecate

class ScoreList(Config):
    ks: Param[list[int]]

@deprecate(ScoreList)
class Scorer(Config):
    k: Param[int]
    def __convert__(self):
        return ScoreList.C(ks=[self.k])

class Rank(Task):
    scorer: Param[Config]
    def execute(self):
        pass
'''

PLAN = '''
import sys
from xpm_core import experiment, RunMode
import scorers
with experiment(sys.argv[1], "rank", run_mode=RunMode.GENERATE_ONLY):
    for k in (1, 2):
        scorer = scorers.Scorer.C(k=k) if sys.argv[2] == "old" else scorers.ScoreList.C(ks=[k])
        task = scorers.Rank.C(scorer=scorer)
        task.submit()
        print(task.__identifier__().all.hex())
'''


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


def _write(tmp_path: Path, module: str) -> None:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "scorers.py").write_text(textwrap.dedent(module))
    (tmp_path / "src" / "plan.py").write_text(textwrap.dedent(PLAN))


def test_list_fix_and_diff_after_a_deprecation(tmp_path):
    workspace = tmp_path / "ws"
    _write(tmp_path, V1)
    old = _run(tmp_path, str(tmp_path / "src" / "plan.py"), str(workspace), "old")
    assert old.returncode == 0, old.stderr
    old_ids = old.stdout.split()
    _write(tmp_path, V2)
    new = _run(tmp_path, str(tmp_path / "src" / "plan.py"), str(tmp_path / "other"), "new")
    new_ids = new.stdout.split()
    assert len(old_ids) == len(new_ids) == 2 and set(old_ids).isdisjoint(new_ids)

    listed = _run(tmp_path, "-m", "xpm_core", "deprecated", "list", str(workspace))
    assert listed.returncode == 0, listed.stderr
    for old_id, new_id in zip(old_ids, new_ids):
        assert f"scorers.rank/{old_id} -> scorers.rank/{new_id}" in listed.stdout
    assert not any(p.is_symlink() for p in (workspace / "jobs" / "scorers.rank").iterdir())

    diff = _run(tmp_path, "-m", "xpm_core", "deprecated", "diff", str(workspace / "jobs" / "scorers.rank" / old_ids[0]))
    assert diff.returncode == 0, diff.stderr
    assert f". differ: {new_ids[0]} vs {old_ids[0]}" in diff.stdout and "./scorer differ:" in diff.stdout

    fixed = _run(tmp_path, "-m", "xpm_core", "deprecated", "list", "--fix", str(workspace))
    assert fixed.returncode == 0, fixed.stderr
    link = workspace / "jobs" / "scorers.rank" / new_ids[0]
    assert link.is_symlink() and link.resolve() == (workspace / "jobs" / "scorers.rank" / old_ids[0]).resolve()

    moved = _run(tmp_path, "-m", "xpm_core", "deprecated", "list", "--fix", "--cleanup", str(workspace))
    assert moved.returncode == 0, moved.stderr
    assert "removed link" in moved.stdout and "moved" in moved.stdout
    folder = workspace / "jobs" / "scorers.rank" / new_ids[1]
    assert folder.is_dir() and not folder.is_symlink() and (folder / "params.json").is_file()
    assert not (workspace / "jobs" / "scorers.rank" / old_ids[1]).exists()
    again = _run(tmp_path, "-m", "xpm_core", "deprecated", "list", str(workspace))
    assert "No job of" in again.stdout, again.stdout


def test_diff_of_a_folder_that_is_not_a_job(tmp_path):
    result = _run(tmp_path, "-m", "xpm_core", "deprecated", "diff", str(tmp_path))
    assert result.returncode == 2 and "not a job folder" in result.stderr
