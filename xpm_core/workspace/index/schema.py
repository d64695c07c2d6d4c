"""The index's tables and indexes, and its schema version: an index of another version is rebuilt."""

from __future__ import annotations

import sqlite3
from typing import Optional

#: Bumped whenever the tables change; an index of another version is rebuilt from disk.
SCHEMA_VERSION = 2  # 2: jobs(submitted_time) index, for listings most recent first


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


def create_schema(conn: sqlite3.Connection) -> None:
    """Drop every table and create empty ones (version 0 until :func:`mark_current`)."""
    # sqlite-utils is imported only here, so that reading the index (every `xpm jobs` command)
    # does not pay for importing it.
    import sqlite_utils

    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("PRAGMA user_version = 0")
    for table in list(db.table_names()):
        db.table(table).drop()
    db.table("experiments").create({"experiment_id": str}, pk="experiment_id")
    # Integer keys: job ids are 64-character hashes, and repeating them in every
    # membership and tag row would triple the index's size and slow every join.
    db.table("runs").create(
        {"id": int, "experiment_id": str, "run_id": str, "status": str, "hostname": str,
         "started_at": float, "ended_at": float},
        pk="id",
        not_null={"experiment_id", "run_id"},
    )
    db.table("runs").create_index(["experiment_id", "run_id"], unique=True)
    # path: relative to the workspace when inside it, so a moved workspace keeps its index.
    # run, submitted_time, tags: copied from the job_runs row of the run that submitted the
    # job last, so that listing every job reads this one table.
    db.table("jobs").create(
        {"id": int, "job_id": str, "task_id": str, "path": str, "state": str,
         "failure_reason": str, "started_time": float, "ended_time": float,
         "exit_code": int, "retry_count": int, "run": int, "submitted_time": float,
         "tags": str},
        pk="id",
        not_null={"job_id", "task_id", "path", "state"},
    )
    db.table("jobs").create_index(["job_id"], unique=True)
    db.table("jobs").create_index(["task_id", "job_id"])
    db.table("jobs").create_index(["state"])
    # `xpm jobs list` shows the most recent first: reading this index backwards spares
    # sorting 100,000 rows (the rowid, last in every index, breaks ties).
    db.table("jobs").create_index(["submitted_time"])
    # One row per (job, run) that submitted it; tags: the run's tags of the job as a JSON
    # object (values keep their JSON type), what listings show.
    db.table("job_runs").create(
        {"job": int, "run": int, "submitted_time": float, "transient": int, "tags": str},
        pk=("job", "run"),
    )
    db.table("job_runs").create_index(["run"])
    # The same tags, one row each, for filtering: value is the JSON (keeps the type), text
    # the string form (a string as is, anything else as JSON), number the numeric value
    # (NULL unless an int or a float).
    db.table("job_tags").create(
        {"job": int, "run": int, "key": str, "value": str, "text": str, "number": float},
        pk=("job", "run", "key"),
    )
    db.table("job_tags").create_index(["key", "text"])
    db.table("job_tags").create_index(["key", "number"])
    db.table("job_dependencies").create({"job_id": str, "depends_on": str}, pk=("job_id", "depends_on"))
    db.table("job_dependencies").create_index(["depends_on"])
