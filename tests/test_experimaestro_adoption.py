"""xpm adopts a workspace written by experimaestro 2.7.0: its done jobs are recognised, not re-run.

The fixture reproduces, file for file, what experimaestro 2.7.0 wrote for ``Step.C(index=1)``
(reference §3); the identifier below was computed by experimaestro 2.7.0 itself.
"""

from __future__ import annotations

import json

from runtime_support import executions, run_driver, write_plan

STEP_1 = "d51825e3631c550b2f7351e6f2ba7a10ed73707c0e66d57cc30b342ddf66c215"


def experimaestro_workspace(workspace, tasks_file):
    job = workspace / "jobs" / "tasks.step" / STEP_1
    (job / ".experimaestro" / "events").mkdir(parents=True)
    (job / "params.json").write_text(json.dumps({
        "workspace": str(workspace), "version": 3, "experimaestro": "2.7.0",
        "objects": [{"id": 139838251269904, "module": "tasks", "type": "Step", "typename": "tasks.Step",
                     "identifier": STEP_1, "task": 139838251269904, "file": str(tasks_file),
                     "fields": {"index": 1, "sleep": 0.0}}],
        "carbon": {"enabled": True, "provider": "codecarbon", "country_iso_code": None, "region": None,
                   "report_interval_s": 60.0, "warn_if_unavailable": True},
    }))
    (job / ".experimaestro" / "status.json").write_text(json.dumps({
        "job_id": STEP_1, "task_id": "tasks.step", "path": str(job), "state": "done", "failure_reason": None,
        "scheduler_state": "done", "scheduler_failure_reason": None,
        "started_time": "2026-11-22T12:41:45.526194", "ended_time": "2026-11-22T12:41:45.535988",
        "exit_code": None, "retry_count": 0, "resumable": False, "progress": [], "process": None,
        "run_group_id": "20261122-124145.05", "events_count": 0,
    }))
    for name in ("step.done", "step.out", "step.err", "step.lock", "step.py"):
        (job / name).write_text("")
    run = workspace / "experiments" / "old" / "20261122_124144"
    (run / "jobs" / "tasks.step").mkdir(parents=True)
    (run / "jobs" / "tasks.step" / STEP_1).symlink_to(job)
    (workspace / "experiments" / "old" / "current").symlink_to("20261122_124144")
    (run / "jobs.jsonl").write_text(json.dumps(
        {"job_id": STEP_1, "task_id": "tasks.step", "tags": {}, "timestamp": 1795351305.0278015}) + "\n")
    (run / "status.json").write_text(json.dumps({
        "version": 1, "experiment_id": "old", "run_id": "20261122_124144", "status": "done", "hostname": "vm",
        "started_at": "2026-11-22T12:41:45.002986", "ended_at": "2026-11-22T12:41:45.760791",
        "job_states": {STEP_1: "done"}, "services": {}, "actions": {}, "run_tags": [],
    }, indent=2))
    (workspace / ".__experimaestro__").touch()


def test_done_jobs_of_an_experimaestro_workspace_are_not_run_again(tmp_path):
    plan = write_plan(tmp_path, "Step.C(index=1).submit()\nStep.C(index=2).submit()")
    workspace = tmp_path / "ws"
    experimaestro_workspace(workspace, tmp_path / "tasks.py")
    result = run_driver(plan, workspace, "new")
    assert "FAILED 0" in result.stdout, result.stderr
    assert executions(workspace) == ["start step 2", "end step 2"]
    assert sorted(p.name for p in (workspace / "jobs" / "tasks.step").iterdir()) == sorted(
        [STEP_1, "5bdc1d060ddecbfbd8d97d3a870b16a3518999a94e679bfa200354f533aad2ac"]
    )


def test_the_index_lists_experimaestro_runs_and_xpm_runs_together(tmp_path):
    from xpm_core.workspace.index import WorkspaceIndex

    plan = write_plan(tmp_path, "Step.C(index=2).submit()")
    workspace = tmp_path / "ws"
    experimaestro_workspace(workspace, tmp_path / "tasks.py")
    run_driver(plan, workspace, "new")
    index = WorkspaceIndex(workspace)
    assert sorted(record.experiment_id for record in index.experiments()) == ["new", "old"]
    assert {job.job_id: job.state.value for job in index.jobs()} == {
        STEP_1: "done", "5bdc1d060ddecbfbd8d97d3a870b16a3518999a94e679bfa200354f533aad2ac": "done",
    }
