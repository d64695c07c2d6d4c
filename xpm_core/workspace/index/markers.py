"""Markers win over the index: re-checking jobs against ``NAME.done``/``NAME.failed`` (and, for a
finished job without either, the rest of its folder), and writing corrections back.

- a job the index calls unfinished is re-checked against its markers; ``.done`` wins always,
  ``.failed`` once the job was launched (scheduled, running): before that it is the previous
  attempt's marker, which the scheduler deletes on relaunch;
- with ``verify`` (``job()``, ``jobs(verify=True)``) jobs the index calls done or error are
  re-checked too, and a finished job without a marker gets the state its folder gives
  (``disk.read_job``);
- otherwise finished states are trusted, so listing 100,000 jobs stats only the unfinished ones.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Optional

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk
from xpm_core.workspace.index.paths import folder_prefix, full_path
from xpm_core.workspace.index.queries import STATES, JobQuery, candidates_sql
from xpm_core.workspace.index.writes import correct_states
from xpm_core.workspace.records import JobRecord

logger = logging.getLogger("xpm_core.workspace.index")

_NOT_LAUNCHED = frozenset({JobState.UNSCHEDULED, JobState.WAITING, JobState.READY})


def has_marker(job_dir: str, task_id: str) -> bool:
    """Whether ``NAME.done`` or ``NAME.failed`` exists: string paths, no pathlib, as listing
    100,000 jobs checks thousands of unfinished ones and most have neither."""
    base = os.path.join(job_dir, disk.task_name(task_id))
    return os.path.exists(base + ".done") or os.path.exists(base + ".failed")


def from_markers(record: JobRecord, process_alive: Optional[disk.ProcessProbe]) -> JobRecord:
    """``record`` as its markers (or folder) say it is; ``record`` itself if they agree."""
    if not record.state.finished and not has_marker(record.path, record.task_id):
        return record  # no marker: the driver's view of an unfinished job stands
    job_dir = Path(record.path)
    marker = disk.read_final_marker(job_dir, record.task_id)
    if marker is not None and marker.state is JobState.ERROR and record.state in _NOT_LAUNCHED:
        # A job waiting for its retry keeps the .failed of its previous attempt until the
        # scheduler launches it again (and deletes the marker): the driver's state stands.
        return record
    if marker is not None:
        exit_code = marker.exit_code if marker.exit_code is not None else record.exit_code
        if (marker.state, marker.failure_reason, exit_code) == (record.state, record.failure_reason, record.exit_code):
            return record
        return attrs.evolve(record, state=marker.state, failure_reason=marker.failure_reason, exit_code=exit_code)
    if not record.state.finished:
        return record
    # The index says finished but no marker does (purged, or reset): the files decide.
    on_disk = disk.read_job(job_dir, record.task_id, record.job_id, process_alive)
    return attrs.evolve(record, state=on_disk.state, failure_reason=on_disk.failure_reason,
                        exit_code=on_disk.exit_code)


def refresh(conn: sqlite3.Connection, workspace: Path, query: JobQuery,
            process_alive: Optional[disk.ProcessProbe]) -> bool:
    """Make the index agree with the markers of the jobs ``query`` may select, before it is run.

    Returns whether the query must read the jobs through ``temp.job_fixes``: when the index cannot
    be written (read-only, or busy beyond the timeout), the corrections go to that temporary
    table, so that the answer is right anyway and the index is fixed next time.
    """
    sql, params = candidates_sql(query)
    prefix = folder_prefix(workspace)
    states = STATES
    corrections = []
    for row in conn.execute(sql, params).fetchall():
        path = full_path(prefix, row[2])
        if not query.verify and not has_marker(path, row[1]):
            continue  # no marker: the driver's view of an unfinished job stands
        record = JobRecord(row[0], row[1], path, states.get(row[3], JobState.UNSCHEDULED), row[4], row[5], row[6],
                           row[7], row[8], None, None, row[10], row[11])
        fixed = from_markers(record, process_alive)
        if fixed is not record:
            corrections.append(fixed)
    if not corrections:
        return False
    try:
        correct_states(conn, corrections)
        return False
    except sqlite3.OperationalError as error:
        logger.debug("could not write marker states back to the index of %s: %s", workspace, error)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS job_fixes "
                 "(job_id TEXT PRIMARY KEY, state TEXT, failure_reason TEXT, exit_code INTEGER)")
    conn.execute("DELETE FROM temp.job_fixes")
    conn.executemany("INSERT INTO temp.job_fixes VALUES (?, ?, ?, ?)",
                     [(r.job_id, r.state.value, r.failure_reason, r.exit_code) for r in corrections])
    return True
