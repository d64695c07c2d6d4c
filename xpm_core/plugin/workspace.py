"""Reading and acting on a workspace: the one API the CLI's job actions and every monitor share.

The web UI, the TUI and ``monitor-server`` are views over :class:`WorkspaceAPI`: experiments,
runs, jobs selected with the ``xpm jobs --filter`` language (sorted and paged), one job in
detail, log chunks by byte offset, dependencies, and the kill and clean actions with the very
semantics (and refusals) of ``xpm jobs kill`` / ``xpm jobs clean``. Every answer is an attrs
record of JSON-friendly values, so that a remote view can receive it over JSON-RPC
(``cattrs.unstructure`` on one side, ``cattrs.structure`` on the other).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence, Union

import attrs

from xpm_core.plugin.job_state import JobState

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import ProcessRef
    from xpm_core.plugin.registry import PluginRegistry
    from xpm_core.workspace.index import JobQuery, WorkspaceIndex
    from xpm_core.workspace.records import JobRecord
    from xpm_core.workspace.watcher import JobEndWatcher

#: Seconds between two checks for dead jobs and drivers by a view that keeps asking.
RECONCILE_SECONDS = 2.0
#: Bytes a log chunk holds unless asked otherwise.
DEFAULT_CHUNK = 64 * 1024
#: The most a single log request returns (a view asks again from ``next_offset``).
MAX_CHUNK = 4 * 1024 * 1024
#: Columns a job listing can be sorted by, besides ``tag:NAME``.
SORT_COLUMNS = ("submitted", "started", "ended", "duration", "state", "task", "job", "retries")

logger = logging.getLogger(__name__)


class WorkspaceAPIError(LookupError):
    """A request the workspace cannot answer (unknown experiment, run or job; bad argument)."""


class FilterSyntaxError(WorkspaceAPIError):
    """A job filter that cannot be read; ``column`` (1-based) says where, as ``xpm jobs list`` does."""

    def __init__(self, message: str, column: int, reason: str) -> None:
        super().__init__(message)
        self.column = column
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0])


# ---- records ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RunSummary:
    """One run of an experiment, with how many of its jobs are in each state."""

    experiment_id: str
    run_id: str
    status: Optional[str]  # "running", "done", "failed", "detached"; None when unreadable
    hostname: Optional[str]
    started_at: Optional[float]  # unix seconds
    ended_at: Optional[float]
    job_count: int
    job_counts: dict[str, int] = attrs.field(factory=dict)  # state value -> jobs


@attrs.frozen(kw_only=True)
class ExperimentSummary:
    """An experiment and its latest run (``latest`` is None for an experiment without runs)."""

    experiment_id: str
    run_count: int
    latest: Optional[RunSummary]


@attrs.frozen(kw_only=True)
class JobSummary:
    """A job as a listing shows it, described by the run that submitted it last (of the selection)."""

    job_id: str
    task_id: str
    path: str
    state: str  # JobState value: "done", "running", ...
    failure_reason: Optional[str]
    submitted_time: Optional[float]
    started_time: Optional[float]
    ended_time: Optional[float]
    exit_code: Optional[int]
    retry_count: Optional[int]
    experiment_id: Optional[str]
    run_id: Optional[str]
    tags: dict[str, Any] = attrs.field(factory=dict)
    #: What a running job last reported, outermost level first: ``[{level, value, desc}]``
    #: (``value`` in [0, 1]); empty for a job that is not running or reports nothing.
    progress: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def full_id(self) -> str:
        """``TASK_ID/HASH``, how the CLI names a job."""
        return f"{self.task_id}/{self.job_id}"


@attrs.frozen(kw_only=True)
class JobPage:
    """One page of a job listing: ``jobs[0]`` is the ``offset``-th of ``total`` matching jobs."""

    jobs: list[JobSummary]
    total: int
    offset: int
    limit: Optional[int]
    #: Every tag name among the matching jobs (the columns a table shows), sorted.
    tag_names: list[str] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class JobDetail:
    """Everything about one job: its record, parameters, links both ways, files and failure."""

    job: JobSummary
    #: The content of ``params.json`` (None when the job folder has none).
    parameters: Optional[dict[str, Any]]
    depends_on: list[str]  # job ids this job needs
    dependents: list[str]  # job ids that need this job
    stdout_path: str
    stderr_path: str
    #: The content of ``NAME.failed`` when the job failed (reason, code, ...).
    failure: Optional[dict[str, Any]]
    #: Logs of earlier attempts of a resumable job (file names in the job folder), oldest first.
    earlier_logs: list[str] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class LogChunk:
    """Bytes ``[offset, next_offset)`` of a job's log, decoded as UTF-8 (invalid bytes replaced)."""

    job_id: str
    stream: str  # "stdout" or "stderr"
    path: str
    exists: bool
    offset: int
    next_offset: int
    size: int  # the file's size when it was read
    text: str
    #: Whether the job has ended: once it has and ``next_offset == size``, nothing more comes.
    finished: bool


@attrs.frozen(kw_only=True)
class ActionOutcome:
    """What an action did (or would do, in a dry run) to one job.

    ``status`` is one of ``killed``, ``would_kill``, ``already_ended``, ``not_started``,
    ``deleted``, ``would_delete``, ``not_finished``, ``failed``; ``message`` says it for people,
    as ``xpm jobs kill/clean`` prints it.
    """

    job_id: str
    task_id: str
    action: str  # "kill" or "clean"
    status: str
    message: str

    @property
    def refused(self) -> bool:
        """Whether the action could not be carried out (a problem, not a choice of the user's)."""
        return self.status == "failed"


# ---- the API ---------------------------------------------------------------------------------


class WorkspaceAPI:
    """Read and act on the workspace at ``path`` (its index plus its job folders).

    One object per thread: it keeps an SQLite connection, which belongs to the thread that
    opened it. ``registry`` (default: the process's) gives the launchers that kill jobs.
    """

    def __init__(self, path: Union[str, os.PathLike], *, registry: Optional[PluginRegistry] = None) -> None:
        self.path = Path(os.path.normpath(Path(path).expanduser().absolute()))
        if not self.path.is_dir():
            raise WorkspaceAPIError(f"no workspace at {self.path}: the directory does not exist")
        self._registry = registry
        self._index: Optional[WorkspaceIndex] = None
        self._reconciled = 0.0
        self._services: set[tuple[Path, str]] = set()  # (run folder, service id) started through this API
        self._job_ends: Optional[JobEndWatcher] = None

    # ---- life cycle --------------------------------------------------------------------------

    @property
    def index(self) -> WorkspaceIndex:
        """The workspace index, opened (and rebuilt if needed) on first use."""
        if self._index is None:
            from xpm_core.workspace.index import WorkspaceIndex

            self._index = WorkspaceIndex(self.path)
            self.reconcile()
        return self._index

    def reconcile(self) -> None:
        """Record the ends nobody recorded (a job killed from outside, a driver killed with
        ``kill -9``) so that every answer tells the truth; done on opening and, for a view
        that keeps asking, at most every :data:`RECONCILE_SECONDS` on reading experiments or jobs."""
        from xpm_core.workspace.reconcile import reconcile

        self._reconciled = time.monotonic()
        try:
            reconcile(self.path, self.index)
        except Exception as error:  # a read-only workspace, a busy index: answer anyway
            logger.debug("could not reconcile %s: %s", self.path, error)

    def _fresh(self) -> None:
        if self._index is not None and time.monotonic() - self._reconciled > RECONCILE_SECONDS:
            self.reconcile()

    def interrupt(self) -> None:
        """Stop the read another thread is making through this object (it raises there): a view
        drops a count it no longer needs rather than wait for it. Nothing if no read runs."""
        if self._index is not None:
            self._index.interrupt()

    def close(self) -> None:
        self._stop_started_services()
        if self._job_ends is not None:
            self._job_ends.close()
            self._job_ends = None
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> WorkspaceAPI:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def change_token(self) -> str:
        """A string that changes whenever the index is written: poll it cheaply, refresh on change.

        Jobs that ended with no driver to report it (their markers appeared) are recorded first,
        so that the token moves for them too (``xpm_core.workspace.watcher``).
        """
        from xpm_core.workspace.index import index_path

        self._record_unreported_ends()

        parts = []
        database = index_path(self.path)
        for candidate in (database, database.with_name(database.name + "-wal")):
            try:
                stat = candidate.stat()
            except FileNotFoundError:
                parts.append("-")
                continue
            parts.append(f"{stat.st_mtime_ns}:{stat.st_size}")
        return "/".join(parts)

    # ---- experiments and runs ------------------------------------------------------------------

    def experiments(self) -> list[ExperimentSummary]:
        """Every experiment, sorted by id, with its latest run."""
        self._fresh()
        summaries = []
        for record in self.index.experiments():
            latest = None
            if record.latest_run_id is not None:
                latest = self._run_summary(record.experiment_id, record.latest_run_id)
            summaries.append(
                ExperimentSummary(experiment_id=record.experiment_id, run_count=record.run_count, latest=latest)
            )
        return summaries

    def runs(self, experiment_id: str) -> list[RunSummary]:
        """The runs of an experiment, oldest first."""
        self._check_experiment(experiment_id)
        counts = self._state_counts(experiment_id)
        return [_run_summary(run, counts.get(run.run_id, {})) for run in self.index.runs(experiment_id)]

    def _run_summary(self, experiment_id: str, run_id: str) -> Optional[RunSummary]:
        for run in self.index.runs(experiment_id):
            if run.run_id == run_id:
                return _run_summary(run, self._state_counts(experiment_id, run_id).get(run_id, {}))
        return None

    def _state_counts(self, experiment_id: str, run_id: Optional[str] = None) -> dict[str, dict[str, int]]:
        """run id -> state value -> number of the run's jobs in that state (index states)."""
        # Joining every membership to its job's state costs a lookup per job (100,000 on a large
        # run). The state most jobs are in (done, usually) is counted by difference instead: the
        # others are read from the jobs(state) index, and a run's total from job_runs(run, job).
        runs = "r.experiment_id = ?" + (" AND r.run_id = ?" if run_id is not None else "")
        params: list[Any] = [experiment_id] + ([run_id] if run_id is not None else [])
        sizes = self.index.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        if not sizes:
            return {}
        majority = max(sizes, key=lambda row: row[1])[0]
        others = [state for state, _ in sizes if state != majority]
        counts: dict[str, dict[str, int]] = {}
        if others:
            marks = ", ".join("?" * len(others))
            for run, state, count in self.index.execute(
                f"SELECT r.run_id, j.state, COUNT(*) FROM jobs j CROSS JOIN job_runs m CROSS JOIN runs r "
                f"WHERE j.state IN ({marks}) AND m.job = j.id AND r.id = m.run AND {runs} GROUP BY r.run_id, j.state",
                others + params,
            ):
                counts.setdefault(run, {})[state] = count
        for run, total in self.index.execute(
            f"SELECT r.run_id, COUNT(*) FROM runs r JOIN job_runs m ON m.run = r.id WHERE {runs} GROUP BY r.run_id",
            params,
        ):
            rest = total - sum(counts.get(run, {}).values())
            if rest > 0:
                counts.setdefault(run, {})[majority] = rest
        return counts

    def _check_experiment(self, experiment_id: str, run_id: Optional[str] = None) -> None:
        # Every page of a run checks it: one lookup, not the runs with their job counts.
        if run_id is None:
            found = self.index.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (experiment_id,))
        else:
            found = self.index.execute("SELECT 1 FROM runs WHERE experiment_id = ? AND run_id = ?",
                                       (experiment_id, run_id))
        if found:
            return
        known = [record.experiment_id for record in self.index.experiments()]
        if experiment_id not in known:
            listed = ", ".join(known) if known else "none"
            raise WorkspaceAPIError(f"no experiment {experiment_id!r} in {self.path} (experiments: {listed})")
        if run_id is not None:
            runs = [run.run_id for run in self.index.runs(experiment_id)]
            if run_id not in runs:
                raise WorkspaceAPIError(
                    f"experiment {experiment_id!r} has no run {run_id!r} (runs: {', '.join(runs) or 'none'})"
                )

    # ---- jobs ------------------------------------------------------------------------------------

    def jobs(
        self,
        *,
        experiment_id: Optional[str] = None,
        run_id: Optional[str] = None,
        filter: Optional[str] = None,
        sort: str = "submitted",
        descending: bool = True,
        offset: int = 0,
        limit: Optional[int] = 100,
        count: bool = True,
    ) -> JobPage:
        """A page of the jobs matching every criterion.

        :param experiment_id: only the jobs of this experiment's runs (``run_id``: of that run).
        :param filter: an ``xpm jobs --filter`` expression; :class:`FilterSyntaxError` if unreadable.
        :param sort: one of :data:`SORT_COLUMNS` or ``tag:NAME``; ties keep submission order.
        :param count: count the matching jobs and list their tag names; a view that knows them
            for this filter (it shows another page, another order) passes False, and gets a
            ``total`` of -1 and no ``tag_names``.
        """
        if run_id is not None and experiment_id is None:
            raise WorkspaceAPIError(f"run {run_id!r} given without the experiment it belongs to")
        self._fresh()
        if experiment_id is not None:
            self._check_experiment(experiment_id, run_id)
        if offset < 0 or (limit is not None and limit < 0):
            raise WorkspaceAPIError(f"offset and limit must be 0 or more (got offset={offset}, limit={limit})")
        if sort not in SORT_COLUMNS and not sort.startswith("tag:"):
            raise WorkspaceAPIError(f"cannot sort jobs by {sort!r}: use one of {', '.join(SORT_COLUMNS)} or tag:NAME")
        # Restricted to a run, each job is still described by the experiment's latest run that
        # submitted it; filtering, sorting, counting and paging all happen in SQL.
        query = self._query(filter, experiment_id=experiment_id, run_id=run_id, sort=sort, descending=descending,
                            offset=offset, limit=limit, count=count)
        selection = self.index.selection(query)
        return JobPage(
            jobs=[_summary(record) for record in selection.records],
            total=selection.total,
            offset=offset,
            limit=limit,
            tag_names=selection.tag_names,
        )

    def select(self, *, experiment_id: Optional[str] = None, filter: Optional[str] = None,
               limit: Optional[int] = None) -> list[JobRecord]:
        """The index records of the jobs matching ``filter``, most recently submitted first."""
        return self.index.select(self._query(filter, experiment_id=experiment_id, limit=limit))

    def _query(self, filter: Optional[str], **fields: Any) -> JobQuery:
        from xpm_core.workspace.index import JobQuery

        if filter is None:
            return JobQuery(**fields)
        # Imported only for a filter: it costs an import of parsimonious that listings skip.
        from xpm_core.jobfilter import FilterError

        try:
            return JobQuery.from_filter(filter, **fields)
        except FilterError as error:
            raise FilterSyntaxError(str(error), error.column, error.reason) from None

    def resolve(self, reference: str) -> JobRecord:
        """The job ``TASK_ID/HASH``, ``TASK_ID/HASH-PREFIX`` or ``HASH-PREFIX`` names."""
        task_id, _, prefix = reference.strip().rpartition("/")
        if not prefix:
            raise WorkspaceAPIError(f"invalid job id {reference!r}: write TASK_ID/HASH, e.g. mymodule.mytask/3e84...")
        found = self.index.find_jobs(prefix, task_id or None, limit=6)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(f"{job.task_id}/{job.job_id[:12]}..." for job in found[:5])
            more = " and more" if len(found) > 5 else ""
            raise WorkspaceAPIError(f"ambiguous job id {reference!r}: it starts the ids of {names}{more}; "
                                    "give more of the hash")
        raise WorkspaceAPIError(f"unknown job {reference!r}: no job of {self.path} has this id "
                                "(xpm jobs list shows them)")

    def job(self, reference: str) -> JobDetail:
        """One job in detail (``reference`` as :meth:`resolve` takes it)."""
        from xpm_core.workspace.disk import task_name

        record = self.resolve(reference)
        folder = Path(record.path)
        name = task_name(record.task_id)
        dependencies = self.index.execute(
            "SELECT job_id, depends_on FROM job_dependencies WHERE job_id = ? OR depends_on = ?",
            (record.job_id, record.job_id),
        )
        depends_on: list[str] = []
        dependents: list[str] = []
        for job_id, depends in dependencies:
            if job_id == record.job_id:
                depends_on.append(depends)
            else:
                dependents.append(job_id)
        earlier = re.compile(re.escape(name) + r"\.\d{14}\.(out|err)$")
        try:
            files = sorted(entry for entry in os.listdir(folder) if earlier.match(entry))
        except OSError:
            files = []
        return JobDetail(
            job=_summary(record),
            parameters=_read_json(folder / "params.json"),
            depends_on=sorted(depends_on),
            dependents=sorted(dependents),
            stdout_path=str(folder / f"{name}.out"),
            stderr_path=str(folder / f"{name}.err"),
            failure=_failure(folder / f"{name}.failed") if record.state is JobState.ERROR else None,
            earlier_logs=files,
        )

    def tags(self, experiment_id: Optional[str] = None, run_id: Optional[str] = None) -> dict[str, dict[str, Any]]:
        """job id -> its tags, for the jobs of a run (the latest of ``experiment_id``) or of every run."""
        if experiment_id is None:
            return {record.job_id: record.tags for record in self.select()}
        self._check_experiment(experiment_id, run_id)
        if run_id is None:
            run_id = self.index.latest_run_id(experiment_id)
        rows = self.index.execute(
            "SELECT j.job_id, m.tags FROM job_runs m JOIN runs r ON r.id = m.run JOIN jobs j ON j.id = m.job "
            "WHERE r.experiment_id = ? AND r.run_id = ?",
            (experiment_id, run_id),
        )
        return {job_id: json.loads(tags) if tags else {} for job_id, tags in rows}

    def dependencies(self, experiment_id: Optional[str] = None, run_id: Optional[str] = None) -> dict[str, list[str]]:
        """job id -> ids of the jobs it depends on (of a run of ``experiment_id``, else of every job)."""
        if experiment_id is not None:
            self._check_experiment(experiment_id, run_id)
        return self.index.get_dependencies_map(experiment_id, run_id)

    # ---- logs ------------------------------------------------------------------------------------

    def log(self, reference: str, stream: str = "stderr", offset: int = 0, size: int = DEFAULT_CHUNK) -> LogChunk:
        """Bytes of a job's ``NAME.out`` (``stream="stdout"``) or ``NAME.err`` from ``offset``.

        A negative ``offset`` counts from the end (``-65536``: the last 64 KiB, to tail a log).
        """
        from xpm_core.workspace.disk import task_name

        if stream not in ("stdout", "stderr"):
            raise WorkspaceAPIError(f"unknown log stream {stream!r}: use 'stdout' or 'stderr'")
        if size <= 0:
            raise WorkspaceAPIError(f"a log chunk size must be positive, got {size}")
        record = self.resolve(reference)
        path = Path(record.path) / f"{task_name(record.task_id)}.{'out' if stream == 'stdout' else 'err'}"
        size = min(size, MAX_CHUNK)
        try:
            with open(path, "rb") as source:
                total = os.fstat(source.fileno()).st_size
                start = max(0, total + offset) if offset < 0 else min(offset, total)
                source.seek(start)
                data = source.read(size)
        except FileNotFoundError:
            return LogChunk(job_id=record.job_id, stream=stream, path=str(path), exists=False, offset=0,
                            next_offset=0, size=0, text="", finished=record.state.finished)
        # Stop before a UTF-8 sequence cut in two: the next chunk starts with all of it.
        cut = _utf8_boundary(data) if start + len(data) < total else len(data)
        return LogChunk(job_id=record.job_id, stream=stream, path=str(path), exists=True, offset=start,
                        next_offset=start + cut, size=total, text=data[:cut].decode("utf-8", errors="replace"),
                        finished=record.state.finished)

    # ---- kill and clean (what `xpm jobs kill/clean` do) -----------------------------------------

    def kill(self, references: Iterable[str], *, perform: bool = False) -> list[ActionOutcome]:
        """Kill the running jobs among ``references`` through their launchers (a dry run unless ``perform``).

        Jobs that have ended or not started are reported, not touched; jobs of one launcher are
        polled with one query, as the scheduler does.
        """
        return self.kill_records([self.resolve(reference) for reference in references], perform=perform)

    def kill_records(self, records: Sequence[JobRecord], *, perform: bool = False) -> list[ActionOutcome]:
        """:meth:`kill` for records already selected (``xpm jobs kill --filter ...``)."""
        outcomes: list[ActionOutcome] = []
        targets: list[tuple[JobRecord, ProcessRef]] = []
        for record in records:
            if record.state.finished:
                continue
            ref = self._process_ref(record, outcomes)
            if ref is None:
                if not outcomes or outcomes[-1].job_id != record.job_id:
                    # Waiting in a driver's queue: stopping that experiment's driver is what stops it.
                    outcomes.append(_outcome(record, "kill", "not_started",
                                             f"{_name(record)}: {record.state.name}, not started: nothing to kill"))
                continue
            targets.append((record, ref))
        if targets:
            outcomes.extend(_run_async(self._kill(targets, perform)))
        return outcomes

    def _process_ref(self, record: JobRecord, outcomes: list[ActionOutcome]) -> Optional[ProcessRef]:
        from xpm_core.plugin.launcher import ProcessRef
        from xpm_core.workspace.disk import task_name

        pid_file = Path(record.path) / f"{task_name(record.task_id)}.pid"
        try:
            return ProcessRef.from_json(json.loads(pid_file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            outcomes.append(_outcome(record, "kill", "failed", f"cannot read {pid_file}: {error}"))
            return None

    async def _kill(self, targets: list[tuple[JobRecord, ProcessRef]], perform: bool) -> list[ActionOutcome]:
        from xpm_core.plugin.launcher import ProcessStatus
        from xpm_core.plugin.registry import get_registry

        registry = self._registry or get_registry()
        outcomes: list[ActionOutcome] = []
        groups: dict[tuple[str, str], list[tuple[JobRecord, ProcessRef]]] = {}
        for record, ref in targets:
            groups.setdefault((ref.launcher, json.dumps(dict(ref.connector), sort_keys=True)), []).append((record, ref))
        launchers = registry.launchers()
        for (launcher_name, _), members in groups.items():
            if launcher_name not in launchers:
                for record, _ref in members:
                    outcomes.append(_outcome(record, "kill", "failed",
                                             f"cannot kill {_name(record)}: the launcher {launcher_name!r} that "
                                             "started it is not installed (xpm plugins lists the installed ones)"))
                continue
            try:
                launcher = launchers[launcher_name].load().for_process(members[0][1], registry)
                states = await launcher.poll([ref for _, ref in members])
            except Exception as error:  # one unreachable host or batch system must not stop the others
                for record, _ref in members:
                    outcomes.append(_outcome(record, "kill", "failed",
                                             f"cannot kill {_name(record)}: asking the {launcher_name} launcher "
                                             f"failed: {type(error).__name__}: {error}"))
                continue
            for record, ref in members:
                state = states.get(ref.id)
                where = f"{launcher_name} job {ref.id}" + (f" on {ref.host}" if ref.host else "")
                if state is not None and state.status is ProcessStatus.FINISHED:
                    self._record_end(record, ref, state)
                    outcomes.append(_outcome(record, "kill", "already_ended", f"{_name(record)}: already ended ({where})"))
                    continue
                if not perform:
                    outcomes.append(_outcome(record, "kill", "would_kill", f"would kill {_name(record)} ({where})"))
                    continue
                try:
                    await launcher.cancel(ref)
                except Exception as error:
                    outcomes.append(_outcome(record, "kill", "failed",
                                             f"cannot kill {_name(record)} ({where}): {type(error).__name__}: {error}"))
                    continue
                outcomes.append(_outcome(record, "kill", "killed", f"killed {_name(record)} ({where})"))
        return outcomes

    def _record_end(self, record: JobRecord, ref: ProcessRef, state: Any) -> None:
        """The launcher says the process ended: if the job left no marker, write its ``NAME.failed``."""
        from xpm_core.workspace.reconcile import failure_record, record_marker, write_failure

        marker = write_failure(Path(record.path), record.task_id, failure_record(state.exit_code, state.failure, ref.id))
        if marker is not None:
            record_marker(self.index, record.job_id, marker)

    def clean(self, references: Iterable[str], *, perform: bool = False) -> list[ActionOutcome]:
        """Delete the folders of the finished jobs among ``references`` and forget them (a dry run
        unless ``perform``). Unfinished jobs are never deleted: they are reported (kill them first)."""
        return self.clean_records([self.resolve(reference) for reference in references], perform=perform)

    def clean_records(self, records: Sequence[JobRecord], *, perform: bool = False) -> list[ActionOutcome]:
        """:meth:`clean` for records already selected (``xpm jobs clean --filter ...``)."""
        outcomes: list[ActionOutcome] = []
        deleted: list[str] = []
        for record in records:
            if not record.state.finished:
                hint = " (kill it first)" if record.state in (JobState.RUNNING, JobState.SCHEDULED) else ""
                outcomes.append(_outcome(record, "clean", "not_finished",
                                         f"{_name(record)}: {record.state.name}, not finished: not cleaned{hint}"))
                continue
            if not perform:
                outcomes.append(_outcome(record, "clean", "would_delete", f"would delete {_name(record)}"))
                continue
            try:
                shutil.rmtree(record.path)
            except FileNotFoundError:
                pass  # already gone: forgetting it is all that is left to do
            except OSError as error:
                # Kept in the index: what remains of the folder is still listed.
                outcomes.append(_outcome(record, "clean", "failed", f"cannot delete {record.path}: {error}"))
                continue
            deleted.append(record.job_id)
            outcomes.append(_outcome(record, "clean", "deleted", f"deleted {_name(record)}"))
        if deleted:
            self.index.forget_jobs(deleted)
        return outcomes

    # ---- services (xp.add_service; xpm_core.services) -----------------------------------------------

    def services(self, experiment_id: str, run_id: Optional[str] = None) -> list[dict[str, Any]]:
        """The services a run (default: the latest) registered, sorted by id, as plain dicts:
        ``id`` (``PARENT/SUB`` for a sub-service), ``description``, ``state`` (``STOPPED``,
        ``STARTING``, ``RUNNING``, ``STOPPING`` or ``ERROR``), ``url``, ``error``, ``pid``,
        ``class``, ``stdout``, ``stderr``. Read from the run's files, not from the index."""
        from xpm_core.services.records import service_rows

        return service_rows(self._services_run(experiment_id, run_id))

    def start_service(self, experiment_id: str, service_id: str, run_id: Optional[str] = None) -> dict[str, Any]:
        """Start a service of a run in this process (the plan's own object when the monitor runs in
        the plan's driver, else created again from its record) and wait until it is ready; it runs until :meth:`stop_service`, :meth:`close` or the end of the process.
        Returns its row of :meth:`services`."""
        from xpm_core.services import hosting
        from xpm_core.services.records import LIVE_STATES, UnknownServiceError, read_state, recreate_service

        run_dir = self._services_run(experiment_id, run_id)
        service = hosting.hosted(run_dir, service_id)
        try:
            if service is None:
                current = read_state(run_dir, service_id)
                if current["state"] in LIVE_STATES:
                    raise WorkspaceAPIError(f"service {service_id} is already {current['state'].lower()} in process "
                                            f"{current['pid']}" + (f" at {current['url']}" if current["url"] else ""))
                service = recreate_service(run_dir, service_id)
        except (UnknownServiceError, ValueError) as error:
            raise WorkspaceAPIError(str(error)) from None
        try:
            service.start()
        except Exception as error:
            raise WorkspaceAPIError(f"service {service_id} did not start: {error} (logs: {service.stderr})") from None
        hosting.host(run_dir, service_id, service)
        self._services.add((run_dir, service_id))
        return self._service_row(run_dir, service_id)

    def stop_service(self, experiment_id: str, service_id: str, run_id: Optional[str] = None) -> dict[str, Any]:
        """Stop a service this process holds (started by :meth:`start_service`, or the plan's own when
        the monitor runs in the plan's driver). One running in another process
        (the plan's driver, ``xpm experiments services start``, another monitor) is refused: stop it there."""
        from xpm_core.services import hosting
        from xpm_core.services.records import LIVE_STATES, read_state

        run_dir = self._services_run(experiment_id, run_id)
        service = hosting.hosted(run_dir, service_id)
        if service is not None:
            service.stop()  # still held by the process: it may be started again
        else:
            current = read_state(run_dir, service_id)
            if current["state"] in LIVE_STATES:
                raise WorkspaceAPIError(f"service {service_id} runs in process {current['pid']} (the plan's driver, "
                                        "'xpm experiments services start' or another monitor): stop it there")
        return self._service_row(run_dir, service_id)

    def _service_row(self, run_dir: Path, service_id: str) -> dict[str, Any]:
        from xpm_core.services.records import service_rows

        for row in service_rows(run_dir):
            if row["id"] == service_id:
                return row
        raise WorkspaceAPIError(f"run {run_dir.name} has no service {service_id!r}")

    def _stop_started_services(self) -> None:
        from xpm_core.services import hosting

        started, self._services = self._services, set()
        for run_dir, service_id in started:
            service = hosting.hosted(run_dir, service_id)
            try:
                if service is not None:
                    service.stop()
            except Exception as error:  # closing must go on
                logger.warning("could not stop service %s: %s", service_id, error)

    def _services_run(self, experiment_id: str, run_id: Optional[str]) -> Path:
        from xpm_core.names import InvalidNameError, check_name
        from xpm_core.workspace import disk

        try:
            check_name(experiment_id, "experiment id")
            if run_id is not None:
                check_name(run_id, "run id")
        except InvalidNameError as error:
            raise WorkspaceAPIError(str(error)) from None
        if run_id is None:
            latest = disk.latest_run_directory(self.path, experiment_id)
            if latest is None:
                raise WorkspaceAPIError(f"no experiment {experiment_id!r} with a run in {self.path}")
            return latest
        run_dir = self.path / disk.EXPERIMENTS_DIR / experiment_id / run_id
        if not disk.is_run_directory(run_dir):
            raise WorkspaceAPIError(f"experiment {experiment_id!r} has no run {run_id!r}")
        return run_dir
    # ---- changes no driver reports, and warnings -------------------------------------------------

    def _record_unreported_ends(self) -> None:
        """Record the ends of jobs whose markers appeared with no driver to report them."""
        from xpm_core.workspace.watcher import JobEndWatcher

        try:
            if self._job_ends is None:
                self._job_ends = JobEndWatcher(self.path)
            self._job_ends.check(self.index)
        except Exception as error:  # a read-only workspace, a busy index: the token still answers
            logger.debug("could not check for unreported job ends in %s: %s", self.path, error)

    def warnings(self) -> list[WorkspaceWarning]:
        """Problems a user should fix, each with the command that fixes it: today, units of a
        token still held for a job whose driver and process have ended (only this host's drivers
        can be checked), which keep other jobs waiting for the token."""
        from xpm_core.runtime.tokens import stale_holders

        found = []
        for holder in stale_holders(self.path / ".xpm" / "tokens"):
            job = Path(holder.job)
            found.append(WorkspaceWarning(
                key=f"stale-token:{holder.token}:{job.name}",
                description=(f"token {holder.token!r}: {holder.count} unit(s) still held for job "
                             f"{job.parent.name}/{job.name}, whose driver ({holder.driver}) and process have ended"),
                actions=[f"xpm cleanup --workdir {self.path}"],
                context={"token": holder.token, "job": holder.job, "holder_file": str(holder.path),
                         "driver": holder.driver, "count": holder.count},
            ))
        return found

    # ---- actions (add_action; xpm_core.actions) -------------------------------------------------

    def actions(self, experiment_id: str, run_id: Optional[str] = None) -> list[dict[str, Any]]:
        """The actions a run (default: the latest) registered, sorted by description, as plain dicts:
        ``id`` (the full action id), ``description``, ``class``, and ``command``, the
        ``xpm experiments actions run`` line that executes it (its questions are asked on the
        terminal, or answered in advance with ``--set KEY=VALUE``). Read from the run's
        ``status.json``, as ``xpm experiments actions list`` reads it; listing loads no user code."""
        import shlex

        from xpm_core.actions.records import recorded_actions

        run_dir = self._services_run(experiment_id, run_id)
        rows = []
        for identifier, record in recorded_actions(run_dir).items():
            words = ["xpm", "experiments", "actions", "run", "--workdir", str(self.path), experiment_id, identifier]
            if run_id is not None:
                words += ["--run", run_id]
            rows.append({"id": identifier, "description": str(record.get("description") or ""),
                         "class": str(record.get("class") or ""), "command": shlex.join(words)})
        return sorted(rows, key=lambda row: (row["description"], row["id"]))
    # ---- orphans (what ``xpm orphans`` lists and cleans) -----------------------------------------

    def orphans(self, *, size: bool = True) -> list[OrphanJob]:
        """The job folders no run of any experiment lists, by task id then hash, each with its
        disk usage (unless not ``size``: a walk of every folder)."""
        from xpm_core.maintenance.disk_usage import directory_size
        from xpm_core.maintenance.orphans import job_folders

        return [OrphanJob(job_id=folder.job_id, task_id=folder.task_id, path=str(folder.path),
                          state=folder.state.value, may_be_running=folder.may_be_running,
                          size=directory_size(folder.path) if size else None)
                for folder in job_folders(self.path) if folder.orphan]

    def clean_orphans(self, references: Iterable[str], *, perform: bool = False) -> list[ActionOutcome]:
        """Delete the folders of the orphan jobs among ``references`` (``TASK_ID/HASH``) and forget
        them (a dry run unless ``perform``), as ``xpm orphans --clean`` does: an orphan that may
        still be running is kept, and a job some run lists is no orphan and is refused."""
        from xpm_core.maintenance.orphans import delete_job_folder, job_folders

        folders = {folder.key: folder for folder in job_folders(self.path)}
        outcomes: list[ActionOutcome] = []
        deleted: list[str] = []
        for reference in references:
            folder = folders.get(reference)
            task_id, _, job_id = reference.rpartition("/")
            if folder is None or not folder.orphan:
                why = "no such job folder" if folder is None else "a run refers to it: not an orphan"
                outcomes.append(ActionOutcome(job_id=job_id, task_id=task_id, action="clean", status="failed",
                                              message=f"cannot delete {reference}: {why}"))
                continue
            if folder.may_be_running:
                outcomes.append(ActionOutcome(job_id=job_id, task_id=task_id, action="clean", status="not_finished",
                                              message=f"keeping {reference}: it may still be running "
                                                      f"({folder.state.value})"))
                continue
            if not perform:
                outcomes.append(ActionOutcome(job_id=job_id, task_id=task_id, action="clean", status="would_delete",
                                              message=f"would delete {reference}"))
                continue
            try:
                delete_job_folder(folder)
            except OSError as error:
                outcomes.append(ActionOutcome(job_id=job_id, task_id=task_id, action="clean", status="failed",
                                              message=f"cannot delete {folder.path}: {error}"))
                continue
            deleted.append(job_id)
            outcomes.append(ActionOutcome(job_id=job_id, task_id=task_id, action="clean", status="deleted",
                                          message=f"deleted {reference}"))
        if deleted:
            self.index.forget_jobs(deleted)
        return outcomes


@attrs.frozen(kw_only=True)
class OrphanJob:
    """A job folder that no run of any experiment lists (``xpm orphans``)."""

    job_id: str
    task_id: str
    path: str
    state: str  # JobState value, as the folder's markers give it
    #: Whether a process may still work in the folder: it is then never deleted.
    may_be_running: bool
    size: Optional[int]  # bytes, None when not measured

    @property
    def full_id(self) -> str:
        """``TASK_ID/HASH``, how the CLI names a job."""
        return f"{self.task_id}/{self.job_id}"


# ---- helpers ---------------------------------------------------------------------------------


def _run_summary(run: Any, counts: dict[str, int]) -> RunSummary:
    return RunSummary(experiment_id=run.experiment_id, run_id=run.run_id, status=run.status, hostname=run.hostname,
                      started_at=run.started_at, ended_at=run.ended_at, job_count=run.job_count,
                      job_counts=dict(counts))


def _summary(record: JobRecord) -> JobSummary:
    return JobSummary(
        job_id=record.job_id, task_id=record.task_id, path=record.path, state=record.state.value,
        failure_reason=record.failure_reason, submitted_time=record.submitted_time,
        started_time=record.started_time, ended_time=record.ended_time, exit_code=record.exit_code,
        retry_count=record.retry_count, experiment_id=record.experiment_id, run_id=record.run_id,
        tags=dict(record.tags), progress=_progress(record),
    )


def _progress(record: JobRecord) -> list[dict[str, Any]]:
    """The progress file of a running job (one small read per running row of a page; none otherwise)."""
    if record.state is not JobState.RUNNING:
        return []
    from xpm_core.runtime.progress_file import read_progress

    return read_progress(record.path)


def _name(record: JobRecord) -> str:
    return f"{record.task_id}/{record.job_id}"


def _outcome(record: JobRecord, action: str, status: str, message: str) -> ActionOutcome:
    return ActionOutcome(job_id=record.job_id, task_id=record.task_id, action=action, status=status, message=message)


def _read_json(path: Path) -> Optional[dict[str, Any]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _failure(path: Path) -> Optional[dict[str, Any]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"reason": "failed"}
    if isinstance(content, dict):
        return content
    return {"reason": "failed", "code": content}  # a legacy marker: the bare exit code


def _utf8_boundary(data: bytes) -> int:
    """The length of ``data`` without a UTF-8 sequence cut at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the lead byte of the last sequence (or ASCII)
            needed = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4
            return len(data) if back >= needed else len(data) - back
    return len(data)


def _run_async(coroutine: Any) -> Any:
    """Run ``coroutine`` to completion, also from a thread that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as error:  # handed back to the caller's thread
            errors.append(error)

    thread = threading.Thread(target=run, name="xpm-workspace-action")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@attrs.frozen(kw_only=True)
class WorkspaceWarning:
    """A problem in the workspace (``WorkspaceAPI.warnings``) and the commands that fix it."""

    key: str  # stable identifier, e.g. "stale-token:gpu:<job id>"
    description: str
    actions: list[str]  # command lines, e.g. ["xpm cleanup --workdir /ws"]
    severity: str = "warning"
    context: dict[str, Any] = attrs.field(factory=dict)
