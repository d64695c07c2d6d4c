"""The workspace index: rebuilt from hand-written workspaces, kept by live updates, never fatal."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace.index import WorkspaceIndex, index_path, rebuild
from xpm_core.workspace.records import JobSubmission

LOGGER = "xpm_core.workspace.index"


# -- writing workspaces by hand, as the driver and the job processes do ---------------------


def hexid(n: int) -> str:
    return f"{n:064x}"


def write_job(
    ws: Path,
    task_id: str,
    job_id: str,
    *,
    done: bool = False,
    failed: Any = None,
    pid: Optional[dict] = None,
    status: Optional[dict] = None,
) -> Path:
    """A job directory with the marker files given (``failed`` is the raw .failed content)."""
    name = task_id.rsplit(".", 1)[-1]
    job_dir = ws / "jobs" / task_id / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    if status is not None:
        (job_dir / ".experimaestro").mkdir(exist_ok=True)
        (job_dir / ".experimaestro" / "status.json").write_text(json.dumps(status))
    if pid is not None:
        (job_dir / f"{name}.pid").write_text(json.dumps(pid))
    if failed is not None:
        (job_dir / f"{name}.failed").write_text(failed if isinstance(failed, str) else json.dumps(failed))
    if done:
        (job_dir / f"{name}.done").touch()
    return job_dir


def write_run(
    ws: Path,
    experiment_id: str,
    run_id: str,
    jobs: list[dict],
    *,
    status: str = "done",
    hostname: str = "host-a",
    started_at: Any = "2026-03-19T12:00:00",
    ended_at: Any = "2026-03-19T13:00:00",
) -> Path:
    run_dir = ws / "experiments" / experiment_id / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "status.json").write_text(json.dumps({
        "version": 1, "experiment_id": experiment_id, "run_id": run_id, "status": status,
        "hostname": hostname, "started_at": started_at, "ended_at": ended_at,
    }, indent=2))
    (run_dir / "jobs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in jobs))
    return run_dir


def jobs_line(job_id: str, task_id: str, tags: dict, timestamp: float, **extra: Any) -> dict:
    return {"job_id": job_id, "task_id": task_id, "tags": tags, "timestamp": timestamp, **extra}


def content(index: WorkspaceIndex) -> dict:
    """Everything the index answers, for comparing two indexes."""
    experiments = index.experiments()
    return {
        "experiments": experiments,
        "runs": {xp.experiment_id: index.runs(xp.experiment_id) for xp in experiments},
        "jobs": index.jobs(),
        "jobs per experiment": {xp.experiment_id: index.jobs(experiment_id=xp.experiment_id) for xp in experiments},
        "dependencies": index.get_dependencies_map(),
    }


def by_id(records) -> dict:
    return {record.job_id: record for record in records}


# -- a workspace written by xpm (v2 layout) with every marker case ----------------------------

LEARN, EVALUATE = "mypkg.tasks.learn", "mypkg.tasks.evaluate"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    write_job(ws, LEARN, hexid(1), done=True,
              status={"state": "done", "started_time": "2026-03-19T12:00:01", "ended_time": "2026-03-19T12:10:00",
                      "exit_code": 0, "retry_count": 0})
    write_job(ws, LEARN, hexid(2), failed={"code": 1, "reason": "timeout", "message": "walltime"})
    write_job(ws, LEARN, hexid(3), failed={"failure_status": "CANCELLED"})
    write_job(ws, LEARN, hexid(4), failed="0")  # legacy: exit code 0 means done
    write_job(ws, LEARN, hexid(5), failed="137")  # legacy: non-zero exit code
    write_job(ws, LEARN, hexid(6), pid={"type": "local", "pid": 1234, "host": "host-a"},
              status={"state": "running"})
    write_job(ws, LEARN, hexid(7), status={"state": "waiting"})
    write_job(ws, LEARN, hexid(8), status={"state": "done"})  # finished, but no marker
    write_job(ws, EVALUATE, hexid(9), done=True, failed={"code": 1, "reason": "failed"})  # .done wins
    write_job(ws, EVALUATE, hexid(10))  # an orphan directory: no run lists it
    write_run(ws, "grid", "20260319_120000", [
        jobs_line(hexid(1), LEARN, {"lr": 0.01, "model": "bert"}, 1000.0),
        jobs_line(hexid(2), LEARN, {"lr": 0.001, "model": "bert"}, 1001.0),
        jobs_line(hexid(9), EVALUATE, {"lr": 0.01}, 1002.0, depends_on=[hexid(1)]),
        jobs_line(hexid(11), EVALUATE, {"lr": 0.001}, 1003.0, depends_on=[hexid(2)]),  # no directory yet
    ])
    write_run(ws, "grid", "20260320_090000", [
        jobs_line(hexid(1), LEARN, {"lr": 0.01, "model": "roberta"}, 2000.0),
        jobs_line(hexid(3), LEARN, {"lr": 1, "flag": True}, 2001.0),
    ], status="running", started_at="2026-03-20T09:00:00", ended_at=None)
    write_run(ws, "other", "20260101_000000", [
        jobs_line(hexid(4), LEARN, {}, 500.0),
        jobs_line(hexid(5), LEARN, {"seed": 5}, 501.0),
        jobs_line(hexid(6), LEARN, {}, 502.0),
        jobs_line(hexid(7), LEARN, {}, 503.0),
        jobs_line(hexid(8), LEARN, {}, 504.0),
    ], started_at=1767225600.0, ended_at=1767229200.0)
    return ws


def test_rebuild_takes_each_job_state_from_its_markers(ws):
    jobs = by_id(WorkspaceIndex(ws).jobs())
    states = {job_id: (job.state, job.failure_reason) for job_id, job in jobs.items()}
    assert states == {
        hexid(1): (JobState.DONE, None),
        hexid(2): (JobState.ERROR, "timeout"),
        hexid(3): (JobState.ERROR, "cancelled"),
        hexid(4): (JobState.DONE, None),
        hexid(5): (JobState.ERROR, "failed"),
        hexid(6): (JobState.RUNNING, None),
        hexid(7): (JobState.WAITING, None),
        hexid(8): (JobState.ERROR, "missing_outputs"),
        hexid(9): (JobState.DONE, None),
        hexid(10): (JobState.UNSCHEDULED, None),
        hexid(11): (JobState.UNSCHEDULED, None),
    }
    assert jobs[hexid(2)].exit_code == 1 and jobs[hexid(5)].exit_code == 137
    assert jobs[hexid(1)].path == str(ws.absolute() / "jobs" / LEARN / hexid(1))
    assert jobs[hexid(1)].exit_code == 0 and jobs[hexid(1)].retry_count == 0
    assert jobs[hexid(1)].ended_time - jobs[hexid(1)].started_time == pytest.approx(599)


def test_a_job_is_described_by_the_run_that_submitted_it_last(ws):
    index = WorkspaceIndex(ws)
    job = index.job(hexid(1))
    assert (job.experiment_id, job.run_id, job.submitted_time) == ("grid", "20260320_090000", 2000.0)
    assert job.tags == {"lr": 0.01, "model": "roberta"}
    older = by_id(index.jobs(experiment_id="grid", run_id="20260319_120000"))
    assert older[hexid(1)].tags == {"lr": 0.01, "model": "bert"}
    assert set(older) == {hexid(1), hexid(2), hexid(9), hexid(11)}
    orphan = index.job(hexid(10))
    assert (orphan.experiment_id, orphan.run_id, orphan.tags) == (None, None, {})
    assert index.job(hexid(99)) is None


def test_experiments_and_runs(ws):
    index = WorkspaceIndex(ws)
    assert [(xp.experiment_id, xp.run_count, xp.latest_run_id) for xp in index.experiments()] == [
        ("grid", 2, "20260320_090000"), ("other", 1, "20260101_000000"),
    ]
    first, second = index.runs("grid")
    assert (first.run_id, first.status, first.hostname, first.job_count) == ("20260319_120000", "done", "host-a", 4)
    assert (second.status, second.ended_at, second.job_count) == ("running", None, 2)
    assert index.runs("other")[0].started_at == 1767225600.0
    assert index.runs("nope") == []


def test_filters_on_experiment_task_state_and_tags(ws):
    index = WorkspaceIndex(ws)
    ids = lambda records: sorted(record.job_id for record in records)  # noqa: E731
    assert ids(index.jobs(task_id=EVALUATE)) == [hexid(9), hexid(10), hexid(11)]
    assert ids(index.jobs(experiment_id="other", states=["ERROR"])) == [hexid(5), hexid(8)]
    assert ids(index.jobs(states=[JobState.DONE, "running"])) == [hexid(1), hexid(4), hexid(6), hexid(9)]
    # tags are those of each job's latest run: job 1 is "roberta" now
    assert ids(index.jobs(tags={"model": "bert"})) == [hexid(2)]
    # a number equals its string form, and an int its float
    assert ids(index.jobs(tags={"lr": "0.01"})) == [hexid(1), hexid(9)]
    assert ids(index.jobs(tags={"lr": 0.01}, states=["done"])) == [hexid(1), hexid(9)]
    assert ids(index.jobs(tags={"lr": 1.0})) == [hexid(3)]
    assert ids(index.jobs(tags={"flag": True})) == [hexid(3)]
    assert ids(index.jobs(experiment_id="grid", run_id="20260319_120000", tags={"model": "bert"})) == [
        hexid(1), hexid(2),
    ]
    assert index.jobs(tags={"lr": "0.1"}) == []
    assert index.jobs(experiment_id="nope") == []


def test_tag_values_keep_their_json_type(ws):
    tags = WorkspaceIndex(ws).job(hexid(3)).tags
    assert tags == {"lr": 1, "flag": True}
    assert type(tags["lr"]) is int and type(tags["flag"]) is bool


def test_dependencies(ws):
    index = WorkspaceIndex(ws)
    assert index.get_dependencies_map() == {hexid(9): [hexid(1)], hexid(11): [hexid(2)]}
    assert index.get_dependencies_map("grid", "20260319_120000") == {hexid(9): [hexid(1)], hexid(11): [hexid(2)]}
    assert index.get_dependencies_map("grid") == {}  # the latest run has no dependent job


def test_state_names_are_checked():
    with pytest.raises(ValueError, match="unknown job state 'finished'"):
        JobState.parse("finished")


# -- a workspace written by experimaestro 2.7.0 (reference §3.2, §3.3, §3.8) ---------------------

LEARN_HASH = "a9d64e09570cc28c195305efa735de4825d11ead08b243cf73f68d8e6145db35"
EVAL_HASH = "67eb3c8d1e0b5a2f4c6d8e0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a3876"
FAILED_HASH = "0f" * 32


@pytest.fixture
def experimaestro_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "xpm270"
    ws.mkdir()
    (ws / ".__experimaestro__").touch()
    (ws / ".events" / "experiments").mkdir(parents=True)
    (ws / ".scheduler" / "20261122_102650").mkdir(parents=True)

    learn = ws / "jobs" / LEARN / LEARN_HASH
    (learn / ".experimaestro" / "events").mkdir(parents=True)
    (learn / "params.json").write_text(json.dumps({
        "workspace": str(ws), "version": 3, "experimaestro": "2.7.0",
        "objects": [
            {"id": 139772730446736, "module": "mypkg.tasks", "type": "Model", "typename": "mypkg.tasks.Model",
             "identifier": "2f33493161ba7bdce6f182763a4c812b2a1d4f200190758df8fff13b511dec00",
             "fields": {"hidden": 8}},
            {"id": 139772714563344, "module": "mypkg.tasks", "type": "Learn", "typename": "mypkg.tasks.Learn",
             "identifier": LEARN_HASH, "task": 139772714563344,
             "fields": {"model": {"type": "python", "value": 139772730446736}, "max_iter": 10}},
        ],
    }))
    (learn / ".experimaestro" / "status.json").write_text(json.dumps({
        "job_id": LEARN_HASH, "task_id": LEARN, "path": str(learn), "state": "done", "failure_reason": None,
        "scheduler_state": "done", "started_time": "2026-11-22T10:26:56.120000",
        "ended_time": "2026-11-22T10:27:01.500000", "exit_code": 0, "retry_count": 2, "resumable": True,
        "progress": [{"level": 0, "progress": 1.0, "desc": None}], "process": None,
        "run_group_id": "20261122-102656.12",
    }))
    (learn / ".experimaestro" / "events" / "event-0.jsonl").write_text(json.dumps({
        "timestamp": 1795342973.6, "job_id": LEARN_HASH, "task_id": LEARN, "level": 0, "progress": 0.5,
        "desc": None, "event_type": "JobProgressEvent"}) + "\n")
    for name in ("attempts.txt", "learn.20261122102656.err", "learn.20261122102658.err", "learn.err",
                 "learn.out", "learn.lock", "learn.py", "learn.done"):
        (learn / name).write_text("")
    (learn / "locks.json").write_text(json.dumps({"dynamic_locks": []}))

    evaluate = ws / "jobs" / EVALUATE / EVAL_HASH
    evaluate.mkdir(parents=True)
    (evaluate / "evaluate.py").write_text("#!/path/to/venv/bin/python3\n# Experimaestro generated task\n")
    (evaluate / "evaluate.pid").write_text(json.dumps({"type": "local", "pid": 4242, "host": "node1"}))

    failed = ws / "jobs" / EVALUATE / FAILED_HASH
    failed.mkdir(parents=True)
    (failed / "evaluate.failed").write_text(json.dumps({"code": 1, "reason": "failed"}))
    (failed / "evaluate.err").write_text("Error handler: finished with code 1, reason=failed\n")

    xp = ws / "experiments" / "my-xp"
    run = xp / "20261122_102650"
    (run / "events").mkdir(parents=True)
    (xp / "lock").touch()
    (xp / "current").symlink_to("20261122_102650")
    (run / ".status.json.lock").touch()
    (run / "status.json").write_text(json.dumps({
        "version": 1, "experiment_id": "my-xp", "run_id": "20261122_102650", "status": "running",
        "hostname": "node1", "started_at": "2026-11-22T10:26:50.000000", "ended_at": None,
        "job_states": {LEARN_HASH: "done", EVAL_HASH: "scheduled", FAILED_HASH: "error"},
        "services": {}, "actions": {}, "run_tags": [], "events_count": 7, "last_updated": "2026-11-22T10:27:02",
    }, indent=2))
    (run / "jobs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in [
        {"job_id": LEARN_HASH, "task_id": LEARN, "tags": {"max_iter": 10}, "timestamp": 1795342010.5},
        {"job_id": EVAL_HASH, "task_id": EVALUATE, "tags": {"max_iter": 10, "split": "test"},
         "timestamp": 1795342010.7},
        {"job_id": FAILED_HASH, "task_id": EVALUATE, "tags": {"max_iter": 10, "split": "dev"},
         "timestamp": 1795342010.8, "transient": True},
    ]) + '{"job_id": "truncated by a kill')
    (run / "events" / "event-0.jsonl").write_text("".join(json.dumps(event) + "\n" for event in [
        {"timestamp": 1795342010.5, "job_id": LEARN_HASH, "task_id": LEARN, "experiment_id": "my-xp",
         "run_id": "20261122_102650", "scheduler_state": "submitted", "failure_reason": None,
         "tags": [{"key": "max_iter", "value": 10}], "depends_on": [], "submitted_time": 1795342010.5,
         "event_type": "ExperimentJobStateEvent"},
        {"timestamp": 1795342010.7, "job_id": EVAL_HASH, "task_id": EVALUATE, "experiment_id": "my-xp",
         "run_id": "20261122_102650", "scheduler_state": "submitted", "failure_reason": None,
         "tags": [{"key": "max_iter", "value": 10}, {"key": "split", "value": "test"}],
         "depends_on": [LEARN_HASH], "submitted_time": 1795342010.7, "event_type": "ExperimentJobStateEvent"},
        {"timestamp": 1795342011.0, "service_id": "tb", "run_id": "20261122_102650", "description": "",
         "service_class": "x.Tensorboard", "state_dict": {}, "event_type": "ServiceAddedEvent"},
    ]))
    (run / "objects.jsonl").write_text("")
    (run / "environment.json").write_text(json.dumps({"python_version": "3.11.7", "packages": {}}))
    (run / "jobs" / LEARN).mkdir(parents=True)
    (run / "jobs" / LEARN / LEARN_HASH).symlink_to(learn)
    return ws


def test_an_experimaestro_workspace_is_read_the_same_way(experimaestro_ws):
    index = WorkspaceIndex(experimaestro_ws)
    assert [(xp.experiment_id, xp.latest_run_id) for xp in index.experiments()] == [("my-xp", "20261122_102650")]
    (run,) = index.runs("my-xp")
    assert (run.status, run.hostname, run.ended_at, run.job_count) == ("running", "node1", None, 3)
    jobs = by_id(index.jobs())
    assert set(jobs) == {LEARN_HASH, EVAL_HASH, FAILED_HASH}
    learn = jobs[LEARN_HASH]
    assert (learn.state, learn.retry_count, learn.exit_code) == (JobState.DONE, 2, 0)
    assert learn.ended_time - learn.started_time == pytest.approx(5.38)
    assert learn.tags == {"max_iter": 10}
    assert (jobs[EVAL_HASH].state, jobs[EVAL_HASH].tags) == (JobState.RUNNING, {"max_iter": 10, "split": "test"})
    assert (jobs[FAILED_HASH].state, jobs[FAILED_HASH].failure_reason) == (JobState.ERROR, "failed")
    # 2.7.0 keeps dependencies in the experiment events, not in jobs.jsonl
    assert index.get_dependencies_map() == {EVAL_HASH: [LEARN_HASH]}
    assert [job.job_id for job in index.jobs(tags={"split": "test"}, states=["running"])] == [EVAL_HASH]


# -- live updates, rebuilds, recovery ---------------------------------------------------------


class Driver:
    """Writes a run's files the way the driver and the job processes do, and tells the index."""

    def __init__(self, ws: Path, index: WorkspaceIndex, experiment_id: str, run_id: str, started: str) -> None:
        self.ws, self.index, self.experiment_id, self.run_id = ws, index, experiment_id, run_id
        self.run_dir = ws / "experiments" / experiment_id / run_id
        self.status = {"version": 1, "experiment_id": experiment_id, "run_id": run_id, "status": "running",
                       "hostname": "host-a", "started_at": started, "ended_at": None}
        self._write_status()
        index.record_run_started(experiment_id, run_id, "host-a", started)

    def _write_status(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "status.json").write_text(json.dumps(self.status))

    def submit(self, job_id: str, task_id: str, tags: dict, timestamp: float, depends_on=()) -> None:
        line = jobs_line(job_id, task_id, tags, timestamp, depends_on=list(depends_on))
        with (self.run_dir / "jobs.jsonl").open("a") as jobs:
            jobs.write(json.dumps(line) + "\n")
        path = self.ws / "jobs" / task_id / job_id
        self.index.record_job_submitted(self.experiment_id, self.run_id, JobSubmission(
            job_id=job_id, task_id=task_id, path=str(path), tags=tags, depends_on=depends_on,
            submitted_time=timestamp))

    def start(self, job_id: str, task_id: str, started: str) -> None:
        write_job(self.ws, task_id, job_id, pid={"type": "local", "pid": 1, "host": "host-a"},
                  status={"state": "running", "started_time": started})
        self.index.record_job_state(job_id, JobState.RUNNING, started=started)

    def end(self, job_id: str, task_id: str, started: str, ended: str, code: int, reason: str = "failed") -> None:
        job_dir = self.ws / "jobs" / task_id / job_id
        (job_dir / f"{task_id.rsplit('.', 1)[-1]}.pid").unlink()
        state = "done" if code == 0 else "error"
        write_job(self.ws, task_id, job_id, done=code == 0,
                  failed=None if code == 0 else {"code": code, "reason": reason},
                  status={"state": state, "started_time": started, "ended_time": ended, "exit_code": code,
                          "retry_count": 0, "failure_reason": None if code == 0 else reason})
        self.index.record_job_state(job_id, state, failure_reason=None if code == 0 else reason,
                                    ended=ended, exit_code=code, retry_count=0)

    def finish(self, status: str, ended: str) -> None:
        self.status.update(status=status, ended_at=ended)
        self._write_status()
        self.index.record_run_finished(self.experiment_id, self.run_id, status, ended)


def drive(ws: Path, index: WorkspaceIndex) -> None:
    """Two runs of one experiment and one of another, jobs in every state."""
    first = Driver(ws, index, "grid", "20260319_120000", "2026-03-19T12:00:00")
    first.submit(hexid(1), LEARN, {"lr": 0.01}, 1000.0)
    first.submit(hexid(2), LEARN, {"lr": 0.1}, 1001.0)
    first.submit(hexid(3), EVALUATE, {"lr": 0.01, "split": "test"}, 1002.0, depends_on=[hexid(1)])
    first.start(hexid(1), LEARN, "2026-03-19T12:00:01")
    first.start(hexid(2), LEARN, "2026-03-19T12:00:02")
    first.end(hexid(1), LEARN, "2026-03-19T12:00:01", "2026-03-19T12:05:00", 0)
    first.end(hexid(2), LEARN, "2026-03-19T12:00:02", "2026-03-19T12:06:00", 3, "timeout")
    first.start(hexid(3), EVALUATE, "2026-03-19T12:05:01")
    first.end(hexid(3), EVALUATE, "2026-03-19T12:05:01", "2026-03-19T12:07:00", 0)
    first.finish("failed", "2026-03-19T12:07:01")

    second = Driver(ws, index, "grid", "20260319_120000.1", "2026-03-19T14:00:00")
    second.submit(hexid(1), LEARN, {"lr": 0.01, "round": 2}, 2000.0)
    second.submit(hexid(4), LEARN, {"lr": 0.5}, 2001.0)
    second.start(hexid(4), LEARN, "2026-03-19T14:00:01")  # still running

    other = Driver(ws, index, "other", "20260320_000000", "2026-03-20T00:00:00")
    other.submit(hexid(5), EVALUATE, {"lr": 0.01}, 3000.0, depends_on=[hexid(1), hexid(4)])
    other.finish("done", "2026-03-20T00:01:00")


def test_live_updates_then_rebuild_give_the_same_content(tmp_path):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    drive(ws, index)
    live = content(index)
    assert len(live["jobs"]) == 5 and by_id(live["jobs"])[hexid(4)].state is JobState.RUNNING
    index.rebuild()
    assert content(index) == live
    rebuild(ws)  # the function `xpm experiments sync` calls, from a new connection
    assert content(WorkspaceIndex(ws)) == live


def test_a_deleted_index_is_rebuilt_with_the_same_content(tmp_path, caplog):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    drive(ws, index)
    live = content(index)
    index.close()
    for path in index_path(ws).parent.glob("index.db*"):
        path.unlink()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        reopened = WorkspaceIndex(ws)
    assert [record.getMessage() for record in caplog.records] == [
        f"workspace index {index_path(ws.absolute())} is missing: building it from the files"
    ]
    assert content(reopened) == live


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty-header"])
def test_a_corrupt_index_is_rebuilt_without_error(tmp_path, caplog, damage):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    drive(ws, index)
    live = content(index)
    index.close()
    db = index_path(ws)
    data = db.read_bytes()
    assert len(data) > 8192
    if damage == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 2 + 100])
    else:  # the header page survives, every page after it is zeros
        db.write_bytes(data[:4096] + bytes(len(data) - 4096))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        reopened = WorkspaceIndex(ws)
        assert content(reopened) == live
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1 and "is corrupt" in messages[0] and "rebuilding it from the files" in messages[0]


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path, caplog):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    drive(ws, index)
    live = content(index)
    index.close()
    with sqlite3.connect(index_path(ws)) as conn:
        conn.execute("PRAGMA user_version = 999")
        conn.execute("DELETE FROM jobs")
    conn.close()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        reopened = WorkspaceIndex(ws)
    assert ["stale (schema version 999" in record.getMessage() for record in caplog.records] == [True]
    assert content(reopened) == live


def test_the_index_uses_wal_on_a_local_file_system(tmp_path):
    WorkspaceIndex(tmp_path / "ws").close()
    with sqlite3.connect(index_path(tmp_path / "ws")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_opening_an_existing_index_does_not_rebuild_it(ws, caplog):
    WorkspaceIndex(ws).close()
    write_job(ws, LEARN, hexid(12), done=True)  # written behind the index's back
    with caplog.at_level(logging.INFO, logger=LOGGER):
        index = WorkspaceIndex(ws)
    assert caplog.records == []
    assert index.job(hexid(12)) is None
    index.rebuild()
    assert index.job(hexid(12)).state is JobState.DONE


# -- markers win ---------------------------------------------------------------------------------


def test_markers_win_over_an_index_that_missed_the_end_of_a_job(tmp_path):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    driver = Driver(ws, index, "xp", "20260319_120000", "2026-03-19T12:00:00")
    for n in (1, 2):
        driver.submit(hexid(n), LEARN, {"n": n}, 1000.0 + n)
        driver.start(hexid(n), LEARN, "2026-03-19T12:00:01")
    # The driver dies; the job processes end and write their markers.
    write_job(ws, LEARN, hexid(1), done=True)
    write_job(ws, LEARN, hexid(2), failed={"code": 2, "reason": "memory"})
    assert [(job.state, job.failure_reason) for job in index.jobs()] == [
        (JobState.DONE, None), (JobState.ERROR, "memory"),
    ]
    assert [job.job_id for job in index.jobs(states=["done"])] == [hexid(1)]
    assert [job.job_id for job in index.jobs(states=["running"])] == []
    # the correction was written back: another reader sees it without its own check
    with sqlite3.connect(index_path(ws)) as conn:
        assert conn.execute("SELECT state FROM jobs ORDER BY job_id").fetchall() == [("done",), ("error",)]
    conn.close()


def test_a_job_waiting_for_its_retry_is_not_failed_by_its_last_attempt(tmp_path):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    driver = Driver(ws, index, "xp", "20260319_120000", "2026-03-19T12:00:00")
    driver.submit(hexid(1), LEARN, {}, 1000.0)
    write_job(ws, LEARN, hexid(1), failed={"code": 1, "reason": "failed"})  # the previous attempt
    index.record_job_state(hexid(1), "waiting")
    assert index.job(hexid(1)).state is JobState.WAITING
    index.record_job_state(hexid(1), "scheduled")  # launched: now a .failed is this attempt's
    assert (index.job(hexid(1)).state, index.job(hexid(1)).failure_reason) == (JobState.ERROR, "failed")
    index.record_job_state(hexid(1), "waiting")
    write_job(ws, LEARN, hexid(1), done=True)  # another driver ran it meanwhile
    assert index.job(hexid(1)).state is JobState.DONE


def test_markers_win_over_an_index_that_says_done(tmp_path):
    """Ghost completions: a purged file system removed the job directory the index calls done."""
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    drive(ws, index)
    job_dir = ws / "jobs" / LEARN / hexid(1)
    (job_dir / "learn.done").unlink()
    assert index.job(hexid(1)).state is JobState.ERROR  # status.json still says done
    assert index.job(hexid(1)).failure_reason == "missing_outputs"
    for path in job_dir.rglob("*"):
        if path.is_file():
            path.unlink()
    assert index.jobs(verify=True, task_id=LEARN)[0].state is JobState.UNSCHEDULED
    assert index.jobs(task_id=LEARN)[0].state is JobState.UNSCHEDULED  # written back


def test_a_liveness_check_can_say_that_a_pid_file_is_stale(ws):
    # A pid file means "running" unless the launcher layer knows better (here: another host's
    # process, which this machine cannot check).
    seen = []

    def dead(process: dict) -> bool:
        seen.append(process)
        return False

    assert WorkspaceIndex(ws).job(hexid(6)).state is JobState.RUNNING
    rebuild(ws, process_alive=dead)
    # Gone without a completion marker: failed, whatever status.json still says.
    job = WorkspaceIndex(ws, process_alive=dead).job(hexid(6))
    assert (job.state, job.failure_reason) == (JobState.ERROR, "failed")
    assert seen and seen[0] == {"type": "local", "pid": 1234, "host": "host-a"}


# -- the write API ---------------------------------------------------------------------------


def test_record_job_state_of_an_unknown_job_is_ignored_with_a_warning(tmp_path, caplog):
    index = WorkspaceIndex(tmp_path / "ws")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert index.record_job_state(hexid(1), "running") is False
    assert "unknown job" in caplog.text and hexid(1) in caplog.text
    assert index.jobs() == []


def test_record_job_state_keeps_what_it_is_not_told(tmp_path):
    ws = tmp_path / "ws"
    index = WorkspaceIndex(ws)
    index.record_job_submitted("xp", "r1", JobSubmission(job_id=hexid(1), task_id=LEARN,
                                                         path=str(ws / "jobs" / LEARN / hexid(1))))
    assert index.job(hexid(1)).state is JobState.UNSCHEDULED
    index.record_job_state(hexid(1), "RUNNING", started=100.0, retry_count=1)
    index.record_job_state(hexid(1), JobState.ERROR, ended=200.0, exit_code=1)
    write_job(ws, LEARN, hexid(1), failed={"code": 1, "reason": "failed"})  # what job() checks
    job = index.job(hexid(1))
    assert (job.state, job.failure_reason, job.started_time, job.ended_time, job.exit_code, job.retry_count) == (
        JobState.ERROR, "failed", 100.0, 200.0, 1, 1)
    index.record_job_state(hexid(1), "waiting")  # resubmitted: the .failed is the last attempt's
    assert (index.job(hexid(1)).state, index.job(hexid(1)).failure_reason) == (JobState.WAITING, None)
    with pytest.raises(ValueError, match="unknown job state"):
        index.record_job_state(hexid(1), "finished")


def test_a_job_outside_the_workspace_keeps_its_absolute_path(tmp_path):
    index = WorkspaceIndex(tmp_path / "ws")
    elsewhere = tmp_path / "scratch" / hexid(1)
    index.record_jobs_submitted("xp", "r1", [
        JobSubmission(job_id=hexid(1), task_id=LEARN, path=str(elsewhere)),
        JobSubmission(job_id=hexid(2), task_id=LEARN, path=str(tmp_path / "ws" / "jobs" / LEARN / hexid(2))),
    ])
    assert [job.path for job in index.jobs()] == [
        str(elsewhere), str(tmp_path / "ws" / "jobs" / LEARN / hexid(2)),
    ]


WRITER = textwrap.dedent("""
    import sys
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission

    ws, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    index = WorkspaceIndex(ws, busy_timeout=120)
    run_id = f"run-{writer}"
    index.record_run_started("xp", run_id, f"host-{writer}", 1000.0 + writer)
    for n in range(count):
        # every writer also submits the shared job 0: a job submitted by two drivers
        job_id = "shared" if n == 0 else f"{writer}-{n}"
        index.record_job_submitted("xp", run_id, JobSubmission(
            job_id=job_id, task_id="pkg.learn", path=f"{ws}/jobs/pkg.learn/{job_id}",
            tags={"writer": writer, "n": n}, submitted_time=float(n)))
        index.record_job_state(job_id, "running", started=float(n))
        index.record_job_state(job_id, "done", ended=float(n) + 1, exit_code=0)
    index.record_run_finished("xp", run_id, "done", 5000.0)
""")


def test_processes_updating_one_index_concurrently_lose_nothing(tmp_path):
    ws = tmp_path / "ws"
    WorkspaceIndex(ws).close()
    writers, count = 4, 60
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(ws), str(writer), str(count)], env=env,
                         stderr=subprocess.PIPE, text=True)
        for writer in range(writers)
    ]
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors
    index = WorkspaceIndex(ws)
    jobs = index.jobs()
    assert len(jobs) == writers * (count - 1) + 1
    assert all(job.state is JobState.DONE and job.exit_code == 0 for job in jobs)
    runs = index.runs("xp")
    assert [(run.run_id, run.status, run.job_count) for run in runs] == [
        (f"run-{writer}", "done", count) for writer in range(writers)
    ]
    assert len(index.jobs(tags={"n": 7})) == writers


def test_an_index_that_cannot_be_written_is_built_in_memory(ws, caplog):
    (ws / ".xpm").write_text("not a directory")  # as unusable as a read-only workspace
    with caplog.at_level(logging.INFO, logger=LOGGER):
        index = WorkspaceIndex(ws)
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "building one in memory from the files" in caplog.text
    assert index.job(hexid(2)).failure_reason == "timeout"
    assert len(index.jobs()) == 11
    assert (ws / ".xpm").read_text() == "not a directory"


def test_query_arguments_are_checked(ws):
    index = WorkspaceIndex(ws)
    with pytest.raises(ValueError, match="needs the experiment_id"):
        index.jobs(run_id="20260319_120000")
    assert [job.job_id for job in index.jobs(states="running")] == [hexid(6)]


def test_markers_win_when_the_index_cannot_be_written(tmp_path):
    # Another process holds the write lock beyond the busy timeout: the markers' states cannot be
    # written back, yet filters, sorts and counts see them.
    index = WorkspaceIndex(tmp_path / "ws", busy_timeout=0.1)
    for n in (1, 2):
        folder = tmp_path / "ws" / "jobs" / LEARN / hexid(n)
        folder.mkdir(parents=True)
        index.record_job_submitted("xp", "r1", JobSubmission(job_id=hexid(n), task_id=LEARN, path=folder,
                                                             tags={"model": "bm25"}, submitted_time=float(n)))
        index.record_job_state(hexid(n), "running")
    (tmp_path / "ws" / "jobs" / LEARN / hexid(1) / "learn.done").touch()
    blocker = sqlite3.connect(index_path(tmp_path / "ws"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        lines = index.job_lines("j.state = ?", ["done"], recheck_condition=("1", []))
        assert [(line.job_id, line.state) for line in lines] == [(hexid(1), JobState.DONE)]
        assert [job.job_id for job in index.jobs(states=["running"], tags={"model": "bm25"})] == [hexid(2)]
        assert [job.state for job in index.jobs_where()] == [JobState.RUNNING, JobState.DONE]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert index.execute("SELECT state FROM jobs WHERE job_id = ?", [hexid(1)]) == [("running",)]
    assert index.job(hexid(1)).state is JobState.DONE  # now written back
    assert index.execute("SELECT state FROM jobs WHERE job_id = ?", [hexid(1)]) == [("done",)]
    index.close()


def test_creating_an_index_imports_no_sqlite_utils(tmp_path):
    # Every first run of an experiment creates an index: plain SQL, not sqlite-utils' import.
    (tmp_path / "jobs").mkdir()
    code = ("import sys\nfrom xpm_core.workspace.index import WorkspaceIndex\n"
            f"index = WorkspaceIndex({str(tmp_path)!r})\n"
            "print(index.rebuilt_on_open, 'sqlite_utils' in sys.modules)\nindex.close()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]
    assert index_path(tmp_path).exists()
