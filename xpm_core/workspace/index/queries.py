"""Selecting jobs: one query object, :class:`JobQuery`, turned into SQL over the index and read as
records, as listing lines, or as a page with its total and tag names.

Every listing of the index goes through a ``JobQuery``. ``markers.refresh`` runs first and makes
the index agree with the markers for the jobs the query may select, so that filtering, sorting,
counting and paging all happen in SQL: a page of 100 out of 100,000 jobs builds 100 records.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Optional, Sequence

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk
from xpm_core.workspace.index.paths import folder_prefix
from xpm_core.workspace.index.tags import tag_match_values
from xpm_core.workspace.records import ExperimentRecord, JobRecord, RunRecord

#: Orders a query can have besides ``tag:NAME``; ``name`` is the task id then the job id.
SORTS = ("submitted", "started", "ended", "duration", "state", "task", "job", "retries", "name")
STATES = {state.value: state for state in JobState}
UNFINISHED = tuple(sorted(state.value for state in JobState if not state.finished))
#: The columns of a record, in JobRecord's order but for the run (a key) and tags at the end.
RECORD_COLUMNS = ("j.job_id, j.task_id, j.path, j.state, j.failure_reason, j.started_time, j.ended_time, "
                  "j.exit_code, j.retry_count, j.run, j.submitted_time, j.tags")

# The jobs table seen through the corrections of ``temp.job_fixes``: what queries read when the
# states the markers gave could not be written back (``markers.refresh``).
_FIXED_JOBS = """(
    SELECT jobs.id, jobs.job_id, jobs.task_id, jobs.path, COALESCE(f.state, jobs.state) AS state,
           CASE WHEN f.job_id IS NULL THEN jobs.failure_reason ELSE f.failure_reason END AS failure_reason,
           jobs.started_time, jobs.ended_time,
           CASE WHEN f.job_id IS NULL THEN jobs.exit_code ELSE f.exit_code END AS exit_code,
           jobs.retry_count, jobs.run, jobs.submitted_time, jobs.tags
    FROM main.jobs AS jobs LEFT JOIN temp.job_fixes f ON f.job_id = jobs.job_id
)"""
_STATE_RANK = "CASE j.state " + " ".join(
    f"WHEN '{state.value}' THEN {rank}" for rank, state in enumerate(JobState)
) + " ELSE 0 END"
_COLUMN_SORTS = {
    "started": "j.started_time",
    "ended": "j.ended_time",
    "retries": "j.retry_count",
    "duration": "CASE WHEN j.started_time IS NULL THEN NULL "
                "ELSE COALESCE(NULLIF(j.ended_time, 0), ?) - j.started_time END",
    "state": _STATE_RANK,
    "task": "j.task_id",
    "job": "j.job_id",
}
# Sorting by a tag: missing (or null) first, then numbers, then the rest by their str(), as a
# Python key (0|1|2, number, text) would order them.
_TAG_JOIN = "LEFT JOIN job_tags s ON s.job = j.id AND s.run = j.run AND s.key = ?"
_TAG_MISSING = "s.value IS NULL OR s.value = 'null'"
_TAG_RANK = f"CASE WHEN {_TAG_MISSING} THEN 0 WHEN s.number IS NOT NULL THEN 1 ELSE 2 END"
_TAG_TEXT = (f"CASE WHEN s.number IS NOT NULL OR {_TAG_MISSING} THEN NULL "
             "WHEN substr(s.value, 1, 1) = '\"' THEN s.text ELSE xpm_python_text(s.value) END")


def _as_tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


class JobLine(NamedTuple):
    """A job as a listing shows it (``WorkspaceIndex.job_lines``): cheap to build 100,000 times."""

    task_id: str
    job_id: str
    state: JobState
    path: Optional[str]  # the job folder, when asked for
    tags_json: Optional[str]  # the tags as a JSON object, when asked for (None: no tags)

    @property
    def tags(self) -> dict[str, Any]:
        return json.loads(self.tags_json) if self.tags_json else {}


@attrs.frozen(kw_only=True)
class JobQuery:
    """Which jobs to list, how each is described, in what order, and which page of them.

    ``condition`` (with ``?`` placeholders for ``params``) is an SQL expression over ``j``, a row
    of the jobs table: ``j.id``, ``j.job_id``, ``j.task_id``, ``j.state`` (lower-case), ``j.run``
    (the key of the run describing the job). It may query ``job_tags`` (``job``, ``run``, ``key``,
    ``text``, ``number``; see ``tag_columns``) and use ``x REGEXP pattern`` (``re.search``).
    """

    #: Only the jobs this experiment's runs submitted, each described by the latest of those runs.
    experiment_id: Optional[str] = None
    #: With ``experiment_id``: only the jobs this run submitted.
    run_id: Optional[str] = None
    #: Describe each job by ``run_id`` itself rather than by the experiment's latest run.
    describe_by_run: bool = False
    condition: Optional[str] = None
    params: tuple[Any, ...] = attrs.field(default=(), converter=_as_tuple)
    #: With ``verify``: the SQL condition (and parameters) selecting the jobs to re-check, all of
    #: the query's if None; it must not read ``j.state``. Without ``verify``, every unfinished job
    #: is re-checked (a stat or two each) and this is not used.
    recheck_condition: Optional[tuple[str, Sequence[Any]]] = None
    #: Re-check finished jobs against their markers too (a stat per job), not only unfinished ones.
    verify: bool = False
    #: One of :data:`SORTS` or ``tag:NAME``; ties keep the most recently submitted first.
    sort: str = "submitted"
    descending: bool = True
    offset: int = 0
    limit: Optional[int] = None
    #: For a selection (``read_selection``): count the matching jobs and read their tag names.
    #: A view that already knows them for this condition (another page, another order) skips it.
    count: bool = True

    @classmethod
    def from_filter(cls, text: Optional[str], **fields: Any) -> JobQuery:
        """The query selecting what the ``xpm jobs --filter`` expression ``text`` selects
        (every job if None); raises ``xpm_core.jobfilter.FilterError`` if it cannot be read."""
        if text is None:
            return cls(**fields)
        # Imported here: parsing costs an import of parsimonious that plain listings skip.
        from xpm_core.jobfilter import parse_filter, to_sql

        condition, params = to_sql(parse_filter(text))
        return cls(condition=condition, params=tuple(params), **fields)

    @classmethod
    def matching(cls, *, task_id: Optional[str] = None, states: Optional[set[JobState]] = None,
                 tags: Optional[dict[str, Any]] = None, **fields: Any) -> JobQuery:
        """The query for jobs of ``task_id``, in one of ``states``, whose tags equal ``tags`` (a
        number equals its string: 0.01 and "0.01")."""
        tests: list[str] = []
        params: list[Any] = []
        if task_id is not None:
            tests.append("j.task_id = ?")
            params.append(task_id)
        for key, value in (tags or {}).items():
            text, number = tag_match_values(value)
            tests.append("EXISTS (SELECT 1 FROM job_tags t WHERE t.job = j.id AND t.run = j.run "
                         "AND t.key = ? AND (t.text = ? OR t.number = ?))")
            params.extend([key, text, number])
        # What decides without the state: the jobs ``verify`` re-reads.
        unchecked = (" AND ".join(tests), tuple(params)) if tests else None
        if states is not None:
            values = sorted(state.value for state in states)
            tests.append(f"j.state IN ({_marks(values)})")
            params.extend(values)
        condition = " AND ".join(tests) if tests else None
        return cls(condition=condition, params=tuple(params), recheck_condition=unchecked, **fields)


@attrs.frozen
class JobSelection:
    """What a page of a query holds: its records, how many jobs match, and their tag names."""

    records: list[JobRecord]
    total: int
    tag_names: list[str]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


_RUN_KEY = "(SELECT id FROM runs WHERE experiment_id = ? AND run_id = ?)"
# The columns of ``j`` but the describing membership's (run, submitted_time, tags), which the
# source gives as ``d``; ``d.job`` is the job's key (an index on ``d`` then orders ties by it).
_DESCRIBED = ("d.job AS id, jobs.job_id, jobs.task_id, jobs.path, jobs.state, jobs.failure_reason, "
              "jobs.started_time, jobs.ended_time, jobs.exit_code, jobs.retry_count, d.run, d.submitted_time, d.tags")


def _source(query: JobQuery, fixed: bool, drive: Optional[str] = None) -> tuple[str, list[Any]]:
    """The relation ``j`` a query reads: the jobs, or those of an experiment (of one of its runs)
    each with the run that describes it.

    ``drive`` says which table a run's jobs are read from first, where SQLite's planner (which
    has no statistics) would guess wrong: ``"order"`` for a page in submission order (the
    experiment's index, stopping at the page), ``"run"`` to look through the run's jobs until one
    passes (the run's memberships); None lets the planner start from the condition's index.
    """
    jobs = _FIXED_JOBS if fixed else "jobs"
    if query.experiment_id is None:
        if drive == "order" and not fixed:
            # The planner would start from the condition's index (every match of model = "bm25",
            # 14,000 of 100,000) and sort them all; reading the jobs most recent first and
            # stopping at the page's last one reads about 700, and at worst each job once.
            return "jobs j INDEXED BY idx_jobs_submitted_time", []
        return f"{jobs} j", []
    if query.run_id is not None and query.describe_by_run:
        # The run's own memberships, through the job_runs(run, job) index.
        return (f"(SELECT {_DESCRIBED} FROM job_runs d JOIN {jobs} AS jobs ON jobs.id = d.job "
                f"WHERE d.run = {_RUN_KEY}) j", [query.experiment_id, query.run_id])
    # job_experiments holds, per job of the experiment, the membership of its run that submitted
    # the job last: read in submission order from its index, no grouping of memberships.
    if query.run_id is None:
        return (f"(SELECT {_DESCRIBED} FROM job_experiments d JOIN {jobs} AS jobs ON jobs.id = d.job "
                "WHERE d.experiment_id = ?) j", [query.experiment_id])
    # Only the run's jobs, each still described by the experiment's latest run that submitted it.
    if drive == "order":
        # In submission order from the job_experiments index, each checked to be the run's: a
        # page reads its 100 jobs (and those of other runs in between), never the whole run.
        return (f"(SELECT {_DESCRIBED} FROM job_experiments d JOIN {jobs} AS jobs ON jobs.id = d.job "
                f"WHERE d.experiment_id = ? AND EXISTS (SELECT 1 FROM job_runs m WHERE m.job = d.job "
                f"AND m.run = {_RUN_KEY})) j", [query.experiment_id, query.experiment_id, query.run_id])
    # From the run's memberships (CROSS JOIN keeps them the outer loop when driving), rather than
    # from the experiment's jobs in key order, most of which may be another run's.
    join = "CROSS JOIN" if drive == "run" else "JOIN"
    return (f"(SELECT {_DESCRIBED} FROM job_runs m {join} job_experiments d {join} {jobs} AS jobs "
            f"WHERE m.run = {_RUN_KEY} AND d.experiment_id = ? AND d.job = m.job AND jobs.id = d.job) j",
            [query.experiment_id, query.run_id, query.experiment_id])


def _count_sql(query: JobQuery, fixed: bool) -> tuple[str, list[Any]]:
    """SELECT the number of jobs the query selects (whatever its page)."""
    if query.condition is None:
        # Without a condition, the rows of one table are the answer (markers change states only).
        if query.experiment_id is None:
            return "SELECT COUNT(*) FROM jobs", []
        if query.run_id is not None:
            return f"SELECT COUNT(*) FROM job_runs WHERE run = {_RUN_KEY}", [query.experiment_id, query.run_id]
        return "SELECT COUNT(*) FROM job_experiments WHERE experiment_id = ?", [query.experiment_id]
    source, params = _source(query, fixed)
    where, where_params = _where(query.condition, query.params)
    return f"SELECT COUNT(*) FROM {source} WHERE {where}", params + where_params


def _where(condition: Optional[str], params: Sequence[Any]) -> tuple[str, list[Any]]:
    """A WHERE condition (``1`` when there is none) and its parameters."""
    return ("1", []) if condition is None else (f"({condition})", list(params))


def _order(query: JobQuery) -> tuple[str, list[Any], str, list[Any]]:
    """The join a sort needs (and its parameters), and the ORDER BY clause (and its parameters)."""
    direction = "DESC" if query.descending else "ASC"
    if query.sort == "submitted":
        return "", [], f"j.submitted_time {direction}, j.id {direction}", []
    if query.sort == "name":
        return "", [], f"j.task_id {direction}, j.job_id {direction}", []
    ties = "j.submitted_time DESC, j.id DESC"
    if query.sort.startswith("tag:"):
        return (_TAG_JOIN, [query.sort[4:]],
                f"{_TAG_RANK} {direction}, s.number {direction}, {_TAG_TEXT} {direction}, {ties}", [])
    if query.sort not in _COLUMN_SORTS:
        raise ValueError(f"cannot sort jobs by {query.sort!r}: use one of {', '.join(SORTS)} or tag:NAME")
    params = [time.time()] if query.sort == "duration" else []
    return "", [], f"{_COLUMN_SORTS[query.sort]} {direction}, {ties}", params


def select_sql(query: JobQuery, columns: str, fixed: bool = False) -> tuple[str, list[Any]]:
    """SELECT ``columns`` of the query's page, in its order."""
    # A page (a limit) in submission order is read in that order; a whole listing or a lookup
    # (``job(id)``: j.job_id = ?) lets the planner start from the condition.
    ordered = query.sort == "submitted" and (query.limit is not None or query.experiment_id is not None)
    source, params = _source(query, fixed, drive="order" if ordered else None)
    join, join_params, order, order_params = _order(query)
    where, where_params = _where(query.condition, query.params)
    sql = f"SELECT {columns} FROM {source} {join} WHERE {where} ORDER BY {order}"
    if query.limit is not None or query.offset:
        sql += f" LIMIT {-1 if query.limit is None else int(query.limit)} OFFSET {int(query.offset)}"
    return sql, params + join_params + where_params + order_params


def candidates_sql(query: JobQuery) -> tuple[str, list[Any]]:
    """SELECT the records whose markers ``markers.refresh`` re-checks for ``query``."""
    if query.verify:
        recheck, recheck_params = query.recheck_condition or (None, ())
        return select_sql(attrs.evolve(query, condition=recheck, params=recheck_params), RECORD_COLUMNS)
    # Every unfinished job of the workspace, a superset read from the state index: cheaper than
    # evaluating the query's condition or describing jobs by an experiment's runs first (a
    # stat or two per unfinished job is all it costs).
    return f"SELECT {RECORD_COLUMNS} FROM jobs j WHERE j.state IN ({_marks(UNFINISHED)})", list(UNFINISHED)


def records(conn: sqlite3.Connection, workspace: Path, rows: Iterable[Sequence[Any]]) -> list[JobRecord]:
    """Records of rows of :data:`RECORD_COLUMNS` (a cursor: rows are not all kept at once)."""
    runs = {key: (xp, run) for key, xp, run in conn.execute("SELECT id, experiment_id, run_id FROM runs")}
    no_run = (None, None)
    prefix = folder_prefix(workspace)
    states = STATES
    result = []
    for row in rows:
        # This loop runs once per listed job: plain operations, positional arguments.
        experiment, run = runs.get(row[9], no_run)
        path = row[2] if row[2].startswith(os.sep) else prefix + row[2]
        result.append(JobRecord(row[0], row[1], path, states.get(row[3], JobState.UNSCHEDULED),
                                row[4], row[5], row[6], row[7], row[8], experiment, run, row[10], row[11]))
    return result


def read_records(conn: sqlite3.Connection, workspace: Path, query: JobQuery, fixed: bool) -> list[JobRecord]:
    """The records of the query's page."""
    sql, params = select_sql(query, RECORD_COLUMNS, fixed)
    return records(conn, workspace, conn.execute(sql, params))


def read_lines(conn: sqlite3.Connection, workspace: Path, query: JobQuery, fixed: bool, *, paths: bool,
               tags: bool) -> list[JobLine]:
    """The query's page as lines (the folder if ``paths``, the tags if ``tags``): `xpm jobs list`
    over 100,000 jobs reads three columns instead of twelve and builds no record."""
    columns = f"j.job_id, j.task_id, j.state, {'j.path' if paths else 'NULL'}, {'j.tags' if tags else 'NULL'}"
    sql, params = select_sql(query, columns, fixed)
    rows = conn.execute(sql, params).fetchall()
    states = STATES
    # Built in one comprehension (the loop runs 100,000 times); tuple.__new__ skips the
    # NamedTuple's Python-level __new__.
    new = tuple.__new__
    if paths:
        prefix, sep = folder_prefix(workspace), os.sep
        return [new(JobLine, (task_id, job_id, states[state], path if path.startswith(sep) else prefix + path,
                              tags_json))
                for job_id, task_id, state, path, tags_json in rows]
    return [new(JobLine, (task_id, job_id, states[state], None, tags_json))
            for job_id, task_id, state, _, tags_json in rows]


def read_selection(conn: sqlite3.Connection, workspace: Path, query: JobQuery, fixed: bool) -> JobSelection:
    """The query's page, the number of jobs it selects, and their tag names (sorted); without
    ``query.count``, the page only (total -1, no tag names)."""
    total: Optional[int] = None
    if query.count and query.sort != "submitted" and query.condition is not None:
        # Sorting reads every match anyway (no index gives the order): it counts them on the way.
        sql, page_params = select_sql(query, RECORD_COLUMNS + ", COUNT(*) OVER ()", fixed)
        rows = conn.execute(sql, page_params).fetchall()
        page = records(conn, workspace, rows)
        total = rows[0][-1] if rows else None
    else:
        # In submission order, the page is read from an index and stops at its last job: the
        # count is a query of its own.
        page = read_records(conn, workspace, query, fixed)
    if not query.count:
        return JobSelection(page, -1, [])
    if total is None and query.offset == 0 and (query.limit is None or len(page) < query.limit):
        total = len(page)  # the page holds every match
    if total is None:
        sql, params = _count_sql(query, fixed)
        total = conn.execute(sql, params).fetchone()[0]
    return JobSelection(page, total, _tag_names(conn, query, fixed) if total else [])


def _tag_names(conn: sqlite3.Connection, query: JobQuery, fixed: bool) -> list[str]:
    """The tag names of the jobs the query selects, sorted."""
    source, params = _source(query, fixed, drive="run" if query.condition is None else None)
    where, where_params = _where(query.condition, query.params)
    # The tag names of a job are the keys of its describing run's tag rows. The few distinct keys
    # come from the (key, ...) index, one step each; then each is kept if any selected job has it,
    # looking through the selected jobs (most have every key: found at the first one), rather than
    # through the key's rows (those of other runs first).
    names = conn.execute(
        f"""WITH RECURSIVE k(key) AS (
            SELECT (SELECT MIN(key) FROM job_tags)
            UNION ALL SELECT (SELECT MIN(key) FROM job_tags WHERE key > k.key) FROM k WHERE k.key IS NOT NULL
        )
        SELECT k.key FROM k WHERE k.key IS NOT NULL AND EXISTS (
            SELECT 1 FROM {source} WHERE {where} AND EXISTS (
                SELECT 1 FROM job_tags tn WHERE tn.job = j.id AND tn.run = j.run AND tn.key = k.key)
        ) ORDER BY 1""",
        params + where_params,
    ).fetchall()
    return [name for (name,) in names]


def read_experiments(conn: sqlite3.Connection) -> list[ExperimentRecord]:
    """Every experiment, sorted by id, with its number of runs and its latest run."""
    runs: dict[str, list[tuple[Any, str]]] = {}
    for experiment_id, run_id, started_at in conn.execute(
        "SELECT e.experiment_id, r.run_id, r.started_at FROM experiments e LEFT JOIN runs r USING (experiment_id)"
    ):
        keys = runs.setdefault(experiment_id, [])
        if run_id is not None:
            keys.append((disk.run_order_key(run_id, started_at), run_id))
    return [
        ExperimentRecord(experiment_id=experiment_id, run_count=len(keys),
                         latest_run_id=max(keys)[1] if keys else None)
        for experiment_id, keys in sorted(runs.items())
    ]


def read_runs(conn: sqlite3.Connection, experiment_id: str) -> list[RunRecord]:
    """The runs of an experiment, oldest first (empty for an unknown experiment)."""
    rows = conn.execute(
        "SELECT r.experiment_id, r.run_id, r.status, r.hostname, r.started_at, r.ended_at, "
        "(SELECT COUNT(*) FROM job_runs m WHERE m.run = r.id) FROM runs r WHERE r.experiment_id = ?",
        (experiment_id,),
    ).fetchall()
    found = [RunRecord(experiment_id=row[0], run_id=row[1], status=row[2], hostname=row[3],
                       started_at=row[4], ended_at=row[5], job_count=row[6]) for row in rows]
    return sorted(found, key=lambda run: disk.run_order_key(run.run_id, run.started_at))


def read_dependencies(conn: sqlite3.Connection, experiment_id: Optional[str],
                      run_id: Optional[str]) -> dict[str, list[str]]:
    """job id -> ids of the jobs it depends on: of the jobs of one run of ``experiment_id`` (the
    latest when ``run_id`` is None) if given, else of every job."""
    if experiment_id is None:
        rows = conn.execute("SELECT job_id, depends_on FROM job_dependencies ORDER BY 1, 2")
    else:
        if run_id is None:
            runs = read_runs(conn, experiment_id)
            run_id = runs[-1].run_id if runs else None
        rows = conn.execute(
            "SELECT d.job_id, d.depends_on FROM job_dependencies d JOIN jobs j ON j.job_id = d.job_id "
            "JOIN job_runs m ON m.job = j.id JOIN runs r ON r.id = m.run "
            "WHERE r.experiment_id = ? AND r.run_id = ? ORDER BY 1, 2",
            (experiment_id, run_id),
        )
    dependencies: dict[str, list[str]] = {}
    for job_id, depends_on in rows:
        dependencies.setdefault(job_id, []).append(depends_on)
    return dependencies


def read_rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[tuple]:
    """Rows of a read-only SQL query over the index's tables (what monitors aggregate)."""
    return conn.execute(sql, tuple(params)).fetchall()
