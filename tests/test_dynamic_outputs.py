"""Dynamic task outputs: a running resumable task registers outputs, the plan's callbacks submit jobs for them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from runtime_support import driver_env, executions

TASKS = '''
import json, os, sys, time
from pathlib import Path
from xpm_core import Config, Meta, Param, ResumableTask, Task, field


def log(what):
    with open(os.environ["XPM_TEST_LOG"], "a") as f:
        f.write(f"{what} {time.time()}\\n")


class Model(Config):
    name: Param[str]


class Checkpoint(Config):
    model: Param[Model]
    step: Param[int]


class Validation(Config):
    model: Param[Model]

    def checkpoint(self, dep, *, step):
        return dep(Checkpoint.C(model=self.model, step=step))

    def compute(self, step):
        self.register_task_output(self.checkpoint, step=step)


class Learn(ResumableTask):
    validation: Param[Validation]
    #: stop (failing) after this step, as an interrupted training; 0: run to the end
    interrupt_after: Meta[int] = field(default=0)

    def execute(self):
        state = Path("state.json")
        last = json.loads(state.read_text())["last"] if state.exists() else 0
        for step in (15, 30, 45):
            if step <= last:
                continue
            self.validation.compute(step)
            log(f"registered {step}")
            state.write_text(json.dumps({"last": step}))
            if step == self.interrupt_after:
                sys.exit(1)


class Evaluate(Task):
    checkpoint: Param[Checkpoint]

    def execute(self):
        log(f"evaluate {self.checkpoint.step}")


class Plain(Task):
    def execute(self):
        pass
'''

PLAN = '''
import logging, sys
from xpm_core import experiment
from dyntasks import *

logging.basicConfig(level=logging.INFO)
workspace, interrupt = sys.argv[1], int(sys.argv[2])
seen = []

def evaluate(checkpoint):
    seen.append(checkpoint.step)
    Evaluate.C(checkpoint=checkpoint).submit()

with experiment(workspace, "dynamic") as xp:
    validation = Validation.C(model=Model.C(name="m"))
    learn = Learn.C(validation=validation, interrupt_after=interrupt)
    learn.watch_output(validation.checkpoint, evaluate)
    learn.submit()
print("SEEN", sorted(seen))
'''


def _write(folder):
    (folder / "dyntasks.py").write_text(TASKS)
    plan = folder / "plan.py"
    plan.write_text(PLAN)
    return plan


def _run(plan, workspace, interrupt: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(plan), str(workspace), str(interrupt)],
        cwd=plan.parent, env=driver_env(workspace), capture_output=True, text=True, timeout=180,
    )


def _evaluated(workspace) -> list[str]:
    return sorted(line for line in executions(workspace) if line.startswith("evaluate"))


def test_three_registered_outputs_run_three_follow_up_jobs(tmp_path):
    plan, workspace = _write(tmp_path), tmp_path / "ws"
    result = _run(plan, workspace, 0)
    assert result.returncode == 0, result.stderr
    assert "SEEN [15, 30, 45]" in result.stdout
    assert _evaluated(workspace) == ["evaluate 15", "evaluate 30", "evaluate 45"]
    [learn_dir] = (workspace / "jobs" / "dyntasks.learn").iterdir()
    lines = (learn_dir / ".experimaestro" / "task-outputs.jsonl").read_text().splitlines()
    assert [json.loads(line)["kwargs"] for line in lines] == [{"step": 15}, {"step": 30}, {"step": 45}]
    assert all(json.loads(line)["key"].endswith("/checkpoint") for line in lines)


def test_a_restarted_driver_replays_the_outputs_already_registered(tmp_path):
    plan, workspace = _write(tmp_path), tmp_path / "ws"
    first = _run(plan, workspace, 15)  # the training stops (fails) after its first checkpoint
    assert "SEEN [15]" in first.stdout, first.stderr
    assert _evaluated(workspace) == ["evaluate 15"]

    second = _run(plan, workspace, 0)  # resubmitted: resumes from step 30
    assert second.returncode == 0, second.stderr
    assert "SEEN [15, 30, 45]" in second.stdout  # 15 replayed from the file
    assert [line for line in executions(workspace) if line.startswith("registered")] == [
        "registered 15", "registered 30", "registered 45"
    ]
    # The replayed checkpoint's evaluation was done: it is not run again.
    assert _evaluated(workspace) == ["evaluate 15", "evaluate 30", "evaluate 45"]


def test_watch_output_needs_a_resumable_task(tmp_path):
    (tmp_path / "dyntasks.py").write_text(TASKS)
    code = textwrap.dedent('''
        from dyntasks import *
        validation = Validation.C(model=Model.C(name="m"))
        try:
            Plain.C().watch_output(validation.checkpoint, print)
        except TypeError as error:
            print("ERROR", error)
    ''')
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert "ERROR watch_output() needs a ResumableTask" in result.stdout, result.stderr


def test_register_task_output_outside_a_job_says_so(tmp_path):
    sys.path.insert(0, str(tmp_path))
    (tmp_path / "dyntasks_outside.py").write_text(TASKS)
    try:
        import dyntasks_outside  # noqa: PLC0415

        validation = dyntasks_outside.Validation.C(model=dyntasks_outside.Model.C(name="m"))
        with pytest.raises(RuntimeError, match="is not a job folder"):
            validation.compute(15)
    finally:
        sys.path.remove(str(tmp_path))
