"""Filling the index from the files (a rebuild): what ``xpm experiments sync`` does, and what
opening does with a missing, stale or corrupt index."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional

from xpm_core.workspace import disk
from xpm_core.workspace.index.connection import transaction
from xpm_core.workspace.index.paths import stored_path
from xpm_core.workspace.index.tags import tag_columns
from xpm_core.workspace.records import tags_json

# A job_runs row: (job, run, submitted_time, transient, tags).
Membership = tuple[int, int, Optional[float], int, Optional[str]]


def _submitted(time: Optional[float]) -> float:
    return -1.0 if time is None else time


def fill_from_disk(conn: sqlite3.Connection, workspace: Path,
                   process_alive: Optional[disk.ProcessProbe] = None) -> None:
    """Replace every row of the index with what the files of ``workspace`` say."""
    snapshot = disk.read_workspace(workspace, process_alive)
    job_ids = {job_id: number for number, job_id in enumerate(snapshot.jobs, 1)}
    run_ids = {(run.experiment_id, run.run_id): number for number, run in enumerate(snapshot.runs, 1)}
    memberships: list[Membership] = []
    tags: list[tuple] = []
    dependencies: set[tuple[str, str]] = set()
    latest: dict[int, Membership] = {}  # job -> its last membership, chosen as live updates do
    # (experiment, job) -> the job's last membership among the experiment's runs, likewise
    latest_in: dict[tuple[str, int], Membership] = {}
    ordered_runs = sorted(snapshot.runs, key=lambda run: disk.run_order_key(run.run_id, run.started_at))
    for run in ordered_runs:
        run_key = run_ids[run.experiment_id, run.run_id]
        for entry in run.jobs:
            job_key = job_ids[entry.job_id]
            membership = (job_key, run_key, entry.submitted_time, int(entry.transient), tags_json(entry.tags))
            memberships.append(membership)
            previous = latest.get(job_key)
            if previous is None or _submitted(previous[2]) <= _submitted(entry.submitted_time):
                latest[job_key] = membership
            previous = latest_in.get((run.experiment_id, job_key))
            if previous is None or _submitted(previous[2]) <= _submitted(entry.submitted_time):
                latest_in[run.experiment_id, job_key] = membership
            tags.extend((job_key, run_key, key, *tag_columns(value)) for key, value in entry.tags.items())
            dependencies.update((entry.job_id, dep) for dep in entry.depends_on)
    with transaction(conn):
        for table in ("job_dependencies", "job_tags", "job_experiments", "job_runs", "jobs", "runs", "experiments"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany(
            "INSERT INTO experiments VALUES (?)",
            [(xp,) for xp in sorted({run.experiment_id for run in snapshot.runs})],
        )
        conn.executemany(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_ids[r.experiment_id, r.run_id], r.experiment_id, r.run_id, r.status, r.hostname,
              r.started_at, r.ended_at) for r in snapshot.runs],
        )
        rows = []
        for job in snapshot.jobs.values():
            key = job_ids[job.job_id]
            last_membership = latest.get(key)
            # The job row carries (run, submitted_time, tags) of the run that submitted it last.
            last = ((None, None, None) if last_membership is None
                    else (last_membership[1], last_membership[2], last_membership[4]))
            rows.append((key, job.job_id, job.task_id, stored_path(workspace, job.path), job.state.value,
                         job.failure_reason, job.started_time, job.ended_time, job.exit_code, job.retry_count,
                         *last))
        conn.executemany("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO job_runs VALUES (?, ?, ?, ?, ?)", memberships)
        conn.executemany("INSERT INTO job_experiments VALUES (?, ?, ?, ?, ?)",
                         [(experiment_id, job, run, submitted, tags)
                          for (experiment_id, _), (job, run, submitted, _, tags) in latest_in.items()])
        conn.executemany("INSERT INTO job_tags VALUES (?, ?, ?, ?, ?, ?)", tags)
        conn.executemany("INSERT INTO job_dependencies VALUES (?, ?)", sorted(dependencies))
