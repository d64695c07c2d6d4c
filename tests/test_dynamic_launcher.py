"""``DynamicLauncher`` and the launcher hooks at submission (listeners, ``launcher_info_code``), with real jobs."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from runtime_support import driver_env, executions

from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.launchers import DynamicLauncher

TASKS = '''
import os, time
from xpm_core import Param, Task


class Where(Task):
    index: Param[int]

    def execute(self):
        with open(os.environ["XPM_TEST_LOG"], "a") as f:
            f.write(f"{self.index} {os.environ.get('WHERE')} {os.environ.get('FROM_INFO')} {time.time()}\\n")
'''

PLAN_HEAD = '''
import logging, sys
from xpm_core import experiment
from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.launchers import DynamicLauncher
from where import Where

logging.basicConfig(level=logging.INFO)


def direct(where, priority):
    launcher = DirectLauncher()
    launcher.priority = priority
    launcher.setenv("WHERE", where)
    return launcher

'''


def _run(tmp_path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "where.py").write_text(TASKS)
    plan = tmp_path / "plan.py"
    plan.write_text(PLAN_HEAD + body)
    workspace = tmp_path / "ws"
    result = subprocess.run(
        [sys.executable, str(plan), str(workspace)], cwd=tmp_path, env=driver_env(workspace),
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result


def _places(tmp_path) -> dict[str, str]:
    return {line.split()[0]: " ".join(line.split()[1:]) for line in executions(tmp_path / "ws")}


def test_the_highest_priority_launcher_runs_each_job_and_update_is_called_before_each_choice(tmp_path):
    _run(tmp_path, '''
class Alternating(DynamicLauncher):
    """Gives the lead to the other launcher before each choice."""

    def update(self):
        low, high = sorted(self._launchers, key=lambda l: l.priority)
        low.priority, high.priority = high.priority, low.priority

with experiment(sys.argv[1], "dynamic") as xp:
    Where.C(index=0).submit(launcher=DynamicLauncher([direct("low", 1), direct("high", 5)]))
    xp.wait()
    alternating = Alternating([direct("a", 1), direct("b", 2)])
    for index in (1, 2, 3):
        Where.C(index=index).submit(launcher=alternating)
        xp.wait()
''')
    places = _places(tmp_path)
    assert places["0"] == "high None"
    assert [places[index].split()[0] for index in "123"] == ["a", "b", "a"]


def test_listeners_see_each_job_at_submission_and_may_add_token_dependencies(tmp_path):
    result = _run(tmp_path, '''
class WithInfo(DirectLauncher):
    def launcher_info_code(self):
        return "import os\\nos.environ['FROM_INFO'] = 'info code ran'"

with experiment(sys.argv[1], "listeners") as xp:
    token = xp.token("slots", 1)
    launcher = WithInfo()
    launcher.setenv("WHERE", "here")
    seen = []
    launcher.addListener(lambda job: seen.append(job.name))
    launcher.addListener(lambda job: job.dependencies.add(token.dependency(1)))  # experimaestro style
    task = Where.C(index=4)
    task.submit(launcher=launcher)
    print("SEEN", seen, [type(d).__name__ for d in task.__xpm__.dependencies])
''')
    assert "SEEN ['where'] ['TokenDependency']" in result.stdout
    assert _places(tmp_path)["4"] == "here info code ran"


def test_choices_without_a_running_job():
    low, high, other_high = DirectLauncher(), DirectLauncher(), DirectLauncher()
    low.priority, high.priority, other_high.priority = 1, 5, 5
    random.seed(1)
    chosen = {id(DynamicLauncher([low, high, other_high]).select_launcher()) for _ in range(50)}
    assert chosen == {id(high), id(other_high)}  # ties broken at random, never the lower one

    random.seed(2)
    sampled = [DynamicLauncher([low, high], sample=True).select_launcher() for _ in range(600)]
    assert 0 < sampled.count(low) < sampled.count(high)  # drawn in proportion 1 : 5

    low.priority = 0
    with pytest.raises(ValueError, match="every priority must be positive"):
        DynamicLauncher([low, high], sample=True).select_launcher()
    with pytest.raises(ValueError, match="at least one launcher"):
        DynamicLauncher([])
    with pytest.raises(TypeError, match="chooses among launchers"):
        DynamicLauncher(["direct"])  # type: ignore[list-item]
