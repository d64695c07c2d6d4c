"""The index's tables and indexes, and its schema version: an index of another version is rebuilt."""

from __future__ import annotations

import sqlite3
from typing import Optional

#: Bumped whenever the tables change; an index of another version is rebuilt from disk.
SCHEMA_VERSION = 3  # 2: jobs(submitted_time) index; 3: job_experiments, tables created in plain SQL


def schema_problem(conn: sqlite3.Connection) -> Optional[str]:
    """Why the open index cannot be used as is ("missing", "stale ..."), or None."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return None
    tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    if version == 0 and not tables:
        return "missing"
    return f"stale (schema version {version}, this xpm uses {SCHEMA_VERSION})"


def mark_current(conn: sqlite3.Connection) -> None:
    """Stamp the schema version: only once filled, so that an interrupted rebuild is done again."""
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# Plain SQL, run as one script: creating an index is part of every first run of an experiment, and
# going through sqlite-utils would cost its import (~100 ms) for what these statements say.
_TABLES = """
CREATE TABLE experiments (experiment_id TEXT PRIMARY KEY);

-- Integer keys: job ids are 64-character hashes, and repeating them in every membership and tag
-- row would triple the index's size and slow every join.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, experiment_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT,
    hostname TEXT, started_at REAL, ended_at REAL
);
CREATE UNIQUE INDEX idx_runs_experiment_id_run_id ON runs (experiment_id, run_id);

-- path: relative to the workspace when inside it, so a moved workspace keeps its index.
-- run, submitted_time, tags: copied from the job_runs row of the run that submitted the job
-- last, so that listing every job reads this one table.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, task_id TEXT NOT NULL, path TEXT NOT NULL,
    state TEXT NOT NULL, failure_reason TEXT, started_time REAL, ended_time REAL,
    exit_code INTEGER, retry_count INTEGER, run INTEGER, submitted_time REAL, tags TEXT
);
CREATE UNIQUE INDEX idx_jobs_job_id ON jobs (job_id);
CREATE INDEX idx_jobs_task_id_job_id ON jobs (task_id, job_id);
CREATE INDEX idx_jobs_state ON jobs (state);
-- `xpm jobs list` shows the most recent first: reading this index backwards spares sorting
-- 100,000 rows (the rowid, last in every index, breaks ties).
CREATE INDEX idx_jobs_submitted_time ON jobs (submitted_time);

-- One row per (job, run) that submitted it; tags: the run's tags of the job as a JSON object
-- (values keep their JSON type), what listings show.
CREATE TABLE job_runs (
    job INTEGER, run INTEGER, submitted_time REAL, transient INTEGER, tags TEXT,
    PRIMARY KEY (job, run)
);
-- (run, job): a run's jobs are read from the index alone (a run page joins 100,000 of them).
CREATE INDEX idx_job_runs_run ON job_runs (run, job);

-- One row per (experiment, job): the job_runs row of the experiment's run that submitted the job
-- last, which describes the job on the experiment's pages. Listing an experiment (or one of its
-- runs) reads it in submission order from its index instead of grouping every membership
-- (WITHOUT ROWID: the index then ends with the job, and breaks ties of submission times as the
-- listings do).
CREATE TABLE job_experiments (
    experiment_id TEXT NOT NULL, job INTEGER NOT NULL, run INTEGER NOT NULL, submitted_time REAL,
    tags TEXT, PRIMARY KEY (experiment_id, job)
) WITHOUT ROWID;
CREATE INDEX idx_job_experiments_submitted_time ON job_experiments (experiment_id, submitted_time);

-- The same tags, one row each, for filtering: value is the JSON (keeps the type), text the string
-- form (a string as is, anything else as JSON), number the numeric value (NULL unless an int or a
-- float).
-- WITHOUT ROWID: a (job, run, key) lookup (sorting by a tag) reads the row in one search, and
-- the (key, text) and (key, number) indexes end with (job, run), all a filter needs of them.
CREATE TABLE job_tags (
    job INTEGER, run INTEGER, key TEXT, value TEXT, text TEXT, number REAL,
    PRIMARY KEY (job, run, key)
) WITHOUT ROWID;
CREATE INDEX idx_job_tags_key_text ON job_tags (key, text);
CREATE INDEX idx_job_tags_key_number ON job_tags (key, number);

CREATE TABLE job_dependencies (job_id TEXT, depends_on TEXT, PRIMARY KEY (job_id, depends_on));
CREATE INDEX idx_job_dependencies_depends_on ON job_dependencies (depends_on);
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Drop every table and create empty ones (version 0 until :func:`mark_current`)."""
    conn.execute("PRAGMA user_version = 0")
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    # Dropping a table drops its indexes. One transaction: each statement of a script would
    # otherwise commit (and sync the file) on its own, twenty times.
    drops = "".join(f'DROP TABLE "{name}";\n' for name in tables)
    try:
        conn.executescript("BEGIN IMMEDIATE;\n" + drops + _TABLES + "COMMIT;\n")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
