"""``WorkspaceIndex``: the index of one workspace, composed of its connection, writes, queries,
marker re-checks and rebuild (one module each in this package)."""

from __future__ import annotations

import datetime
import functools
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, TypeVar, Union

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk
from xpm_core.workspace.index import markers, queries, writes
from xpm_core.workspace.index.connection import DEFAULT_BUSY_TIMEOUT, IndexConnection
from xpm_core.workspace.index.queries import JobLine, JobQuery, JobSelection
from xpm_core.workspace.index.rebuild import fill_from_disk
from xpm_core.workspace.records import ExperimentRecord, JobRecord, JobSubmission, RunRecord

logger = logging.getLogger("xpm_core.workspace.index")

INDEX_DIR = ".xpm"
INDEX_FILE = "index.db"

Timestamp = Union[float, int, datetime.datetime, str, None]  # unix seconds, a datetime, ISO 8601
StateLike = Union[JobState, str]
T = TypeVar("T")
#: Reads a query's page once the markers are re-checked: (connection, workspace, query, fixed).
Reader = Callable[[sqlite3.Connection, Path, JobQuery, bool], T]


def index_path(workspace: Union[str, os.PathLike]) -> Path:
    return Path(workspace) / INDEX_DIR / INDEX_FILE


def _parse_state(state: StateLike) -> JobState:
    return state if isinstance(state, JobState) else JobState.parse(state)


class WorkspaceIndex:
    """The index of one workspace; thread-safe, and safe to share between processes.

    Opening it creates or rebuilds ``WS/.xpm/index.db`` when needed. ``process_alive`` is the
    launcher layer's liveness check of ``NAME.pid`` processes, used when reading from disk; by
    default, processes of this machine are checked (a job killed here never reads as running).
    """

    def __init__(
        self,
        workspace: Union[str, os.PathLike],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        process_alive: Optional[disk.ProcessProbe] = None,
    ) -> None:
        self.workspace = Path(workspace).expanduser().absolute()
        self.path = index_path(self.workspace)
        if process_alive is None:
            from xpm_core.workspace.reconcile import local_process_alive

            process_alive = local_process_alive
        self._process_alive = process_alive
        fill = functools.partial(fill_from_disk, workspace=self.workspace, process_alive=process_alive)
        self._db = IndexConnection(self.path, busy_timeout=busy_timeout, fill=fill)

    @property
    def rebuilt_on_open(self) -> bool:
        """Whether opening found the index missing, stale or corrupt and rebuilt it from disk."""
        return self._db.rebuilt_on_open

    def close(self) -> None:
        self._db.close()

    def interrupt(self) -> None:
        """Stop the query another thread is running on this index (it raises
        ``sqlite3.OperationalError``); nothing if none runs."""
        self._db.interrupt()

    def __enter__(self) -> WorkspaceIndex:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def rebuild(self) -> None:
        """Replace the whole content of the index with what the files say (``xpm experiments sync``).

        Events recorded by drivers while the files are read may be lost until the next rebuild;
        the markers still win when those jobs are read.
        """
        self._db.run(fill_from_disk, self.workspace, self._process_alive)

    # -- writes: the driver records events as they happen --------------------------------

    def record_run_started(self, experiment_id: str, run_id: str, hostname: Optional[str],
                           started_at: Timestamp) -> None:
        """A run of ``experiment_id`` started (its ``status.json`` says "running")."""
        self._db.run(writes.run_started, experiment_id, run_id, hostname, disk.to_timestamp(started_at))

    def record_run_finished(self, experiment_id: str, run_id: str, status: str, ended_at: Timestamp) -> None:
        """A run ended with ``status`` ("done" or "failed", as its ``status.json``)."""
        self._db.run(writes.run_finished, experiment_id, run_id, status, disk.to_timestamp(ended_at))

    def record_job_submitted(self, experiment_id: str, run_id: str, job: JobSubmission) -> None:
        """A job was added to a run (its ``jobs.jsonl`` line); a job new to the index is unscheduled."""
        self.record_jobs_submitted(experiment_id, run_id, [job])

    def record_jobs_submitted(self, experiment_id: str, run_id: str, jobs: Iterable[JobSubmission]) -> None:
        """Several jobs added to a run, in one transaction (a plan submitting many jobs at once)."""
        self._db.run(writes.jobs_submitted, self.workspace, experiment_id, run_id, list(jobs))

    def record_job_state(
        self,
        job_id: str,
        state: StateLike,
        failure_reason: Optional[str] = None,
        started: Timestamp = None,
        ended: Timestamp = None,
        exit_code: Optional[int] = None,
        retry_count: Optional[int] = None,
    ) -> bool:
        """A job changed state; None leaves a time, exit code or retry count unchanged.

        The failure reason is kept only for the error state ("failed" when not given). Returns
        False (and logs a warning) when the index does not know the job: record its submission
        first.
        """
        state = _parse_state(state)
        reason = (failure_reason or "failed").lower() if state is JobState.ERROR else None
        known = self._db.run(writes.job_state, job_id, state, reason, disk.to_timestamp(started),
                             disk.to_timestamp(ended), exit_code, retry_count)
        if not known:
            logger.warning("workspace index %s: state %s of unknown job %s ignored", self.path, state, job_id)
        return known

    def forget_jobs(self, job_ids: Iterable[str]) -> int:
        """Remove jobs from the index (their folders were deleted: ``xpm jobs clean``).

        Their memberships in runs, tags and own dependencies go too; jobs that depend on them keep
        naming them. Returns how many jobs the index knew. The runs' ``jobs.jsonl`` still list
        them, so a rebuild brings them back as unscheduled.
        """
        return self._db.run(writes.forget_jobs, list(job_ids))

    def forget_run(self, experiment_id: str, run_id: str) -> bool:
        """Remove a run whose folder was deleted (history pruning); False if the index did not know it."""
        return self._db.run(writes.forget_run, experiment_id, run_id)

    # -- reads -----------------------------------------------------------------------------

    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, sorted by id."""
        return self._db.run(queries.read_experiments)

    def runs(self, experiment_id: str) -> list[RunRecord]:
        """The runs of an experiment, oldest first (empty for an unknown experiment)."""
        return self._db.run(queries.read_runs, experiment_id)

    def latest_run_id(self, experiment_id: str) -> Optional[str]:
        """The latest run of an experiment (by start time, then run id), or None."""
        runs = self.runs(experiment_id)
        return runs[-1].run_id if runs else None

    def get_dependencies_map(
        self, experiment_id: Optional[str] = None, run_id: Optional[str] = None
    ) -> dict[str, list[str]]:
        """job id -> ids of the jobs it depends on: of the jobs of one run of ``experiment_id``
        (the latest when ``run_id`` is None) if given, else of every job."""
        return self._db.run(queries.read_dependencies, experiment_id, run_id)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only SQL query over the index's tables (what monitors aggregate)."""
        return self._db.run(queries.read_rows, sql, params)

    def select(self, query: JobQuery) -> list[JobRecord]:
        """The records of a query's page (markers win, see ``markers``)."""
        return self._db.run(self._read, query, queries.read_records)

    def selection(self, query: JobQuery) -> JobSelection:
        """A query's page with the number of jobs it selects and their tag names."""
        return self._db.run(self._read, query, queries.read_selection)

    def _read(self, conn: sqlite3.Connection, query: JobQuery, reader: Reader[T]) -> T:
        """Re-check the markers of the jobs ``query`` may select, then read its page with ``reader``."""
        fixed = markers.refresh(conn, self.workspace, query, self._process_alive)
        return reader(conn, self.workspace, query, fixed)

    # -- the listings other code calls, each one JobQuery ----------------------------------

    def jobs(
        self,
        experiment_id: Optional[str] = None,
        run_id: Optional[str] = None,
        task_id: Optional[str] = None,
        states: Optional[Iterable[StateLike]] = None,
        tags: Optional[Mapping[str, Any]] = None,
        *,
        verify: bool = False,
    ) -> list[JobRecord]:
        """Jobs matching every given criterion, sorted by task id then job id.

        ``experiment_id`` (and ``run_id``) restrict to the jobs its runs (that run) submitted;
        each job is described by the run that submitted it last among those. ``tags`` must all
        be equal in that run (a number equals its string: 0.01 and "0.01"). States are
        case-insensitive names or ``JobState``. Unfinished jobs are re-checked against their
        markers; ``verify`` re-checks finished ones too (a stat per job).
        """
        if run_id is not None and experiment_id is None:
            raise ValueError(f"jobs(run_id={run_id!r}) needs the experiment_id the run belongs to")
        if isinstance(states, (str, JobState)):
            states = [states]
        wanted = None if states is None else {_parse_state(state) for state in states}
        return self.select(JobQuery.matching(
            task_id=task_id, states=wanted, tags=dict(tags or {}), experiment_id=experiment_id, run_id=run_id,
            describe_by_run=True, verify=verify, sort="name", descending=False,
        ))

    def job(self, job_id: str) -> Optional[JobRecord]:
        """One job, re-checked against its markers, described by the run that submitted it last."""
        test = ("j.job_id = ?", (job_id,))
        found = self.select(JobQuery(condition=test[0], params=test[1], recheck_condition=test, verify=True))
        return found[0] if found else None

    def find_jobs(self, job_id_prefix: str, task_id: Optional[str] = None, limit: int = 2) -> list[JobRecord]:
        """Jobs whose id starts with ``job_id_prefix`` (of ``task_id`` if given), by job id, at most
        ``limit`` of them; each re-checked against its markers, as ``job()`` does.

        ``xpm jobs log abc12`` resolves a hash prefix with it: two results mean ambiguous.
        """
        # A range on the unique job_id index: ids starting with the prefix sort between the
        # prefix and the prefix followed by the highest code point.
        condition = "j.job_id >= ? AND j.job_id < ?"
        params: tuple[Any, ...] = (job_id_prefix, job_id_prefix + "\U0010ffff")
        if task_id is not None:
            condition += " AND j.task_id = ?"
            params += (task_id,)
        return self.select(JobQuery(condition=condition, params=params, recheck_condition=(condition, params),
                                    verify=True, sort="job", descending=False, limit=limit))

    def jobs_where(
        self,
        condition: Optional[str] = None,
        params: Sequence[Any] = (),
        *,
        recheck: Optional[Callable[[JobRecord], bool]] = None,
        recheck_condition: Optional[tuple[str, Sequence[Any]]] = None,
        experiment_id: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> list[JobRecord]:
        """Jobs for which the SQL ``condition`` holds, most recently submitted first
        (``JobQuery`` says what a condition may read). Without a condition, every job (of the
        experiment) is listed; ``limit`` keeps the first ones.

        Markers win: every unfinished job is re-checked against its markers, and the index
        corrected, before the condition is evaluated, so that the condition sees the markers'
        states. ``recheck`` (the condition in Python) and ``recheck_condition`` (which unfinished
        jobs may pass) are accepted for compatibility and no longer needed.
        """
        del recheck, recheck_condition
        return self.select(JobQuery(condition=condition, params=tuple(params), experiment_id=experiment_id,
                                    limit=limit))

    def job_lines(
        self,
        condition: Optional[str] = None,
        params: Sequence[Any] = (),
        *,
        recheck: Optional[Callable[[JobRecord], bool]] = None,
        recheck_condition: Optional[tuple[str, Sequence[Any]]] = None,
        experiment_id: Optional[str] = None,
        limit: Optional[int] = None,
        paths: bool = False,
        tags: bool = False,
    ) -> list[JobLine]:
        """What ``jobs_where`` selects, as ``JobLine`` (task id, job id, state; the folder if
        ``paths``, the tags if ``tags``): `xpm jobs list` over 100,000 jobs reads three columns
        instead of twelve and builds no record."""
        del recheck, recheck_condition
        query = JobQuery(condition=condition, params=tuple(params), experiment_id=experiment_id, limit=limit)
        return self._db.run(self._read, query, functools.partial(queries.read_lines, paths=paths, tags=tags))


def rebuild(workspace: Union[str, os.PathLike], *, process_alive: Optional[disk.ProcessProbe] = None) -> None:
    """Rebuild the index of ``workspace`` from its files (what ``xpm experiments sync`` does)."""
    with WorkspaceIndex(workspace, process_alive=process_alive) as index:
        if not index.rebuilt_on_open:
            index.rebuild()
