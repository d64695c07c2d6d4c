"""Running plans for real: job folders, run records, dependencies, failures, re-runs, run modes."""

from __future__ import annotations

import json
import os

from runtime_support import executions, run_driver, write_plan

GRID = """
for lr in [0.1, 0.01]:
    for size in [128, 256]:
        model = Model.C(name="transformer", hidden_size=tag(size))
        trained = Train.C(model=model, learning_rate=tag(lr)).submit()
        Evaluate.C(trained=trained).submit()
"""


def test_grid_runs_every_job_once_and_records_it(tmp_path):
    plan, workspace = write_plan(tmp_path, GRID), tmp_path / "ws"
    result = run_driver(plan, workspace, "grid")
    assert result.returncode == 0, result.stderr
    assert "FAILED 0" in result.stdout
    assert sorted(line for line in executions(workspace) if line.startswith("end")) == [
        "end train 128 0.01", "end train 128 0.1", "end train 256 0.01", "end train 256 0.1"
    ]
    assert len([line for line in executions(workspace) if line.startswith("evaluate")]) == 4

    train_dirs = sorted((workspace / "jobs" / "tasks.train").iterdir())
    assert len(train_dirs) == 4
    for job_dir in train_dirs:
        assert (job_dir / "train.done").exists() and not (job_dir / "train.failed").exists()
        assert "trained" in (job_dir / "train.out").read_text()
        params = json.loads((job_dir / "params.json").read_text())
        assert params["version"] == 3 and params["objects"][-1]["identifier"] == job_dir.name

    experiment_dir = workspace / "experiments" / "grid"
    run_dir = experiment_dir / os.readlink(experiment_dir / "current")
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "done" and set(status["job_states"].values()) == {"done"}
    lines = [json.loads(line) for line in (run_dir / "jobs.jsonl").read_text().splitlines()]
    trains = [line for line in lines if line["task_id"] == "tasks.train"]
    assert sorted((line["tags"]["hidden_size"], line["tags"]["learning_rate"]) for line in trains) == [
        (128, 0.01), (128, 0.1), (256, 0.01), (256, 0.1)
    ]
    evaluations = [line for line in lines if line["task_id"] == "tasks.evaluate"]
    assert all(len(line["depends_on"]) == 1 for line in evaluations)
    objects = [json.loads(line) for line in (run_dir / "objects.jsonl").read_text().splitlines()]
    assert sorted(o["type"] for o in objects) == ["Evaluate"] * 4 + ["Model"] * 4 + ["Train"] * 4
    environment = json.loads((run_dir / "environment.json").read_text())
    assert "xpm-core" in environment["packages"]
    assert (run_dir / "jobs" / "tasks.train" / train_dirs[0].name).resolve() == train_dirs[0]


def test_the_index_follows_the_run(tmp_path):
    from xpm_core.workspace.index import WorkspaceIndex

    plan, workspace = write_plan(tmp_path, GRID), tmp_path / "ws"
    result = run_driver(plan, workspace, "grid")
    assert "unknown job" not in result.stderr
    jobs = WorkspaceIndex(workspace).jobs(experiment_id="grid")
    assert len(jobs) == 8 and {job.state.value for job in jobs} == {"done"}
    trains = [job for job in jobs if job.task_id == "tasks.train"]
    assert sorted((job.tags["hidden_size"], job.tags["learning_rate"]) for job in trains) == [
        (128, 0.01), (128, 0.1), (256, 0.01), (256, 0.1)
    ]
    assert all(job.started_time and job.ended_time for job in jobs)


def test_rerun_runs_nothing_again(tmp_path):
    plan, workspace = write_plan(tmp_path, GRID), tmp_path / "ws"
    run_driver(plan, workspace, "grid")
    before = executions(workspace)
    result = run_driver(plan, workspace, "grid")
    assert result.returncode == 0 and "FAILED 0" in result.stdout
    assert executions(workspace) == before
    assert len(list((workspace / "experiments" / "grid").glob("2*"))) == 2


def test_a_failed_dependency_fails_its_dependents_without_running_them(tmp_path):
    plan, workspace = write_plan(tmp_path, """
    failing = Fail.C(code=3).submit()
    consumer = Consume.C(upstream=failing).submit()
    Consume.C(upstream=consumer).submit()
    """), tmp_path / "ws"
    result = run_driver(plan, workspace, "failing")
    assert "FAILED 3" in result.stdout
    assert executions(workspace) == ["fail"]
    [fail_dir] = (workspace / "jobs" / "tasks.fail").iterdir()
    failure = json.loads((fail_dir / "fail.failed").read_text())
    assert failure["reason"] == "failed" and "failing on purpose (3)" in failure["message"]
    assert "RuntimeError: failing on purpose (3)" in (fail_dir / "fail.err").read_text()
    assert not (workspace / "jobs" / "tasks.consume").exists()  # never started
    assert "failed (dependency): tasks.consume/" in result.stderr
    assert f"failed (failed): tasks.fail/{fail_dir.name}, see {fail_dir}/fail.err" in result.stderr


def test_a_failed_job_runs_again_when_resubmitted(tmp_path):
    plan, workspace = write_plan(tmp_path, "Fail.C(code=1).submit()"), tmp_path / "ws"
    run_driver(plan, workspace, "again")
    run_driver(plan, workspace, "again")
    assert executions(workspace) == ["fail", "fail"]


def test_dry_run_prints_jobs_and_writes_nothing(tmp_path):
    plan, workspace = write_plan(tmp_path, GRID), tmp_path / "ws"
    run_driver(plan, workspace, "grid")  # some jobs done, to show their state
    result = run_driver(write_plan(tmp_path, GRID + "Step.C(index=7).submit()\n", "plan2.py"), workspace, "grid", "DRY_RUN")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(lines) == 9
    assert sum(line.startswith("[done] tasks.train/") for line in lines) == 4
    assert any(line.startswith("[unscheduled] tasks.step/") for line in lines)
    evaluate = next(line for line in lines if "tasks.evaluate/" in line)
    assert "launcher=direct" in evaluate and "dependencies=tasks.train/" in evaluate
    assert not (workspace / "jobs" / "tasks.step").exists()
    assert len(list((workspace / "experiments" / "grid").glob("2*"))) == 1


def test_generate_only_writes_job_folders_only(tmp_path):
    plan, workspace = write_plan(tmp_path, "Step.C(index=1).submit()"), tmp_path / "ws"
    result = run_driver(plan, workspace, "gen", "generate")
    assert result.returncode == 0, result.stderr
    [job_dir] = (workspace / "jobs" / "tasks.step").iterdir()
    assert sorted(p.name for p in job_dir.iterdir()) == ["params.json", "step.py"]
    assert executions(workspace) == []
    assert not (workspace / "experiments").exists()


MAIN_SCRIPT = '''
import sys
from xpm_core import Task, Param, experiment

class Step(Task):
    index: Param[int]

    def execute(self):
        print("JOB", Step.C(index=self.index).__identifier__().all.hex())

if __name__ == "__main__":
    with experiment(sys.argv[1], "main-script") as xp:
        job = Step.C(index=5).submit()
    print("DRIVER", Step.C(index=5).__identifier__().all.hex())
    print(open(job.job.stdout).read())
'''


def test_tasks_defined_in_the_plan_script_keep_their_identifiers_in_the_job(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "plan_script.py"
    script.write_text(MAIN_SCRIPT)
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "ws")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    ids = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("JOB", "DRIVER")))
    assert ids["JOB"] == ids["DRIVER"]
    assert (tmp_path / "ws" / "jobs" / "__main__.step" / ids["DRIVER"]).is_dir()
