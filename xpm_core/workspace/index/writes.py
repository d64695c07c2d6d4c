"""What drivers record in the index as it happens: runs started and finished, jobs submitted, job
states; and what actions remove (forgotten jobs) or correct (states the markers give)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk
from xpm_core.workspace.index.connection import transaction
from xpm_core.workspace.index.paths import stored_path
from xpm_core.workspace.index.tags import tag_columns
from xpm_core.workspace.records import JobRecord, JobSubmission, tags_json


def run_started(conn: sqlite3.Connection, experiment_id: str, run_id: str, hostname: Optional[str],
                started: Optional[float]) -> None:
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
        conn.execute(
            "INSERT INTO runs (experiment_id, run_id, status, hostname, started_at) "
            "VALUES (?, ?, 'running', ?, ?) "
            "ON CONFLICT (experiment_id, run_id) DO UPDATE SET status = 'running', "
            "hostname = excluded.hostname, started_at = excluded.started_at, ended_at = NULL",
            (experiment_id, run_id, hostname, started),
        )


def run_finished(conn: sqlite3.Connection, experiment_id: str, run_id: str, status: str,
                 ended: Optional[float]) -> None:
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
        conn.execute(
            "INSERT INTO runs (experiment_id, run_id, status, ended_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (experiment_id, run_id) DO UPDATE SET status = excluded.status, "
            "ended_at = excluded.ended_at",
            (experiment_id, run_id, status, ended),
        )


def jobs_submitted(conn: sqlite3.Connection, workspace: Path, experiment_id: str, run_id: str,
                   jobs: list[JobSubmission]) -> None:
    """Add ``jobs`` to a run in one transaction; a job new to the index is unscheduled."""
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
        conn.execute("INSERT OR IGNORE INTO runs (experiment_id, run_id) VALUES (?, ?)", (experiment_id, run_id))
        run_key = conn.execute(
            "SELECT id FROM runs WHERE experiment_id = ? AND run_id = ?", (experiment_id, run_id)
        ).fetchone()[0]
        for job in jobs:
            job_key = conn.execute(
                "INSERT INTO jobs (job_id, task_id, path, state) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (job_id) DO UPDATE SET task_id = excluded.task_id, path = excluded.path "
                "RETURNING id",
                (job.job_id, job.task_id, stored_path(workspace, job.path), JobState.UNSCHEDULED.value),
            ).fetchone()[0]
            submitted, tags = disk.to_timestamp(job.submitted_time), tags_json(job.tags)
            conn.execute(
                "INSERT OR REPLACE INTO job_runs VALUES (?, ?, ?, ?, ?)",
                (job_key, run_key, submitted, int(job.transient), tags),
            )
            # The job row carries the membership of the run that submitted it last.
            conn.execute(
                "UPDATE jobs SET run = ?, submitted_time = ?, tags = ? WHERE id = ? "
                "AND (run IS NULL OR COALESCE(submitted_time, -1) <= COALESCE(?, -1))",
                (run_key, submitted, tags, job_key, submitted),
            )
            # Likewise the experiment's row, read by its pages: the run that submitted it last.
            conn.execute(
                "INSERT INTO job_experiments VALUES (?, ?, ?, ?, ?) ON CONFLICT (experiment_id, job) "
                "DO UPDATE SET run = excluded.run, submitted_time = excluded.submitted_time, tags = excluded.tags "
                "WHERE job_experiments.run = excluded.run "
                "OR COALESCE(job_experiments.submitted_time, -1) <= COALESCE(excluded.submitted_time, -1)",
                (experiment_id, job_key, run_key, submitted, tags),
            )
            conn.execute("DELETE FROM job_tags WHERE job = ? AND run = ?", (job_key, run_key))
            conn.executemany(
                "INSERT INTO job_tags VALUES (?, ?, ?, ?, ?, ?)",
                [(job_key, run_key, key, *tag_columns(value)) for key, value in job.tags.items()],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO job_dependencies VALUES (?, ?)",
                [(job.job_id, dep) for dep in job.depends_on],
            )


def job_state(conn: sqlite3.Connection, job_id: str, state: JobState, reason: Optional[str],
              started: Optional[float], ended: Optional[float], exit_code: Optional[int],
              retry_count: Optional[int]) -> bool:
    """Set a job's state (None leaves a time, exit code or retry count as is); False if unknown."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE jobs SET state = ?, failure_reason = ?, "
            "started_time = COALESCE(?, started_time), ended_time = COALESCE(?, ended_time), "
            "exit_code = COALESCE(?, exit_code), retry_count = COALESCE(?, retry_count) "
            "WHERE job_id = ?",
            (state.value, reason, started, ended, exit_code, retry_count, job_id),
        )
        return cursor.rowcount > 0


def correct_states(conn: sqlite3.Connection, records: list[JobRecord]) -> None:
    """Write the states the markers gave (``markers.refresh``) back to the index."""
    with transaction(conn):
        conn.executemany(
            "UPDATE jobs SET state = ?, failure_reason = ?, exit_code = ? WHERE job_id = ?",
            [(r.state.value, r.failure_reason, r.exit_code, r.job_id) for r in records],
        )


def forget_jobs(conn: sqlite3.Connection, job_ids: list[str]) -> int:
    """Remove jobs, their memberships, tags and own dependencies; how many the index knew."""
    keys = [(job_id,) for job_id in job_ids]
    with transaction(conn):
        for table in ("job_tags", "job_runs", "job_experiments"):
            conn.executemany(f"DELETE FROM {table} WHERE job = (SELECT id FROM jobs WHERE job_id = ?)", keys)
        conn.executemany("DELETE FROM job_dependencies WHERE job_id = ?", keys)
        before = conn.total_changes
        conn.executemany("DELETE FROM jobs WHERE job_id = ?", keys)
        return conn.total_changes - before


def forget_run(conn: sqlite3.Connection, experiment_id: str, run_id: str) -> bool:
    """Remove a run (its folder was pruned) and its memberships; a job it described is then
    described by the run that submitted it last among the others (or none: an orphan)."""
    with transaction(conn):
        row = conn.execute("SELECT id FROM runs WHERE experiment_id = ? AND run_id = ?",
                           (experiment_id, run_id)).fetchone()
        if row is None:
            return False
        key = row[0]
        conn.execute("DELETE FROM job_tags WHERE run = ?", (key,))
        conn.execute("DELETE FROM job_runs WHERE run = ?", (key,))
        conn.execute(
            "UPDATE jobs SET (run, submitted_time, tags) = (SELECT m.run, m.submitted_time, m.tags "
            "FROM job_runs m WHERE m.job = jobs.id ORDER BY COALESCE(m.submitted_time, -1) DESC LIMIT 1) "
            "WHERE run = ?",
            (key,),
        )
        # The experiment's pages: its other run that submitted the job last, or no row at all.
        others = ("FROM job_runs m JOIN runs r ON r.id = m.run "
                  "WHERE m.job = job_experiments.job AND r.experiment_id = job_experiments.experiment_id")
        conn.execute(f"DELETE FROM job_experiments WHERE run = ? AND NOT EXISTS (SELECT 1 {others})", (key,))
        conn.execute(
            f"UPDATE job_experiments SET (run, submitted_time, tags) = (SELECT m.run, m.submitted_time, m.tags "
            f"{others} ORDER BY COALESCE(m.submitted_time, -1) DESC, m.run DESC LIMIT 1) WHERE run = ?",
            (key,),
        )
        conn.execute("DELETE FROM runs WHERE id = ?", (key,))
        conn.execute("DELETE FROM experiments WHERE experiment_id = ? AND NOT EXISTS "
                     "(SELECT 1 FROM runs WHERE experiment_id = ?)", (experiment_id, experiment_id))
        return True
