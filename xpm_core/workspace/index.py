"""The workspace index ``WS/.xpm/index.db``: a SQLite copy of the files' state, for fast queries.

Files are the truth (docs/workspace.md). Drivers record events here as they happen; readers
query it. A missing, stale (other schema version) or corrupt index is rebuilt from the files,
with one log line, and never makes a caller fail.

Markers win over the index, checked when a job is read:
- a job the index calls unfinished is re-checked against its ``NAME.done``/``NAME.failed``
  markers; ``.done`` wins always, ``.failed`` once the job was launched (scheduled, running):
  before that it is the previous attempt's marker, which the scheduler deletes on relaunch;
- ``job()`` and ``jobs(verify=True)`` also re-check jobs the index calls done or error, and a
  finished job without a marker gets the state its directory gives (``disk.read_job``);
- otherwise finished states are trusted, so listing 100,000 jobs stats only the unfinished ones.
Corrections are written back to the index.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import logging
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Optional, Sequence, Union

import attrs

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace import disk
from xpm_core.workspace.records import (
    ExperimentRecord,
    JobRecord,
    JobSubmission,
    RunRecord,
    tags_json,
)

if TYPE_CHECKING:
    import sqlite_utils

logger = logging.getLogger(__name__)

#: Bumped whenever the tables change; an index of another version is rebuilt from disk.
SCHEMA_VERSION = 2  # 2: jobs(submitted_time) index, for listings most recent first
INDEX_DIR = ".xpm"
INDEX_FILE = "index.db"
DEFAULT_BUSY_TIMEOUT = 60.0  # seconds; drivers of a shared workspace wait for each other's writes

# File systems where SQLite's WAL is unsafe (its shared-memory file does not work across hosts).
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "ceph", "glusterfs",
     "fuse.glusterfs", "fuse.sshfs", "fuse.s3fs", "9p", "afs", "panfs", "orangefs", "pvfs2"}
)

Timestamp = Union[float, int, datetime.datetime, str, None]  # unix seconds, a datetime, ISO 8601
StateLike = Union[JobState, str]

_STATES = {state.value: state for state in JobState}
_UNFINISHED = {state.value for state in JobState if not state.finished}
_FINISHED = frozenset(state for state in JobState if state.finished)
_NOT_LAUNCHED = frozenset({JobState.UNSCHEDULED, JobState.WAITING, JobState.READY})
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def index_path(workspace: Union[str, os.PathLike]) -> Path:
    return Path(workspace) / INDEX_DIR / INDEX_FILE


def _is_corruption(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    message = str(error).lower()
    return "malformed" in message or "not a database" in message


def _on_network_filesystem(path: Path) -> bool:
    """Whether ``path`` lies on a network file system, read from /proc/self/mountinfo (Linux)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return False
    target = str(path.resolve())
    best, best_type = "", ""
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        mount_point = parts[4].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, rest.split()[0]
    return best_type in NETWORK_FILESYSTEMS


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serializes creating and rebuilding the index between processes (fcntl lock on ``path``)."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def tag_columns(value: Any) -> tuple[str, str, Optional[float]]:
    """A tag as the index stores it (``job_tags``: value, text, number): its JSON, its string form
    and its number. 0.01 -> ("0.01", "0.01", 0.01); "a" -> ('"a"', "a", None);
    True -> ("true", "true", None)."""
    as_json = json.dumps(value, sort_keys=True)
    text = value if isinstance(value, str) else as_json
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return as_json, text, number



@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: Optional[str], value: Any) -> bool:
    """SQLite's ``value REGEXP pattern``: Python's ``re.search`` (false on NULL)."""
    if pattern is None or value is None:
        return False
    return _compiled(pattern).search(str(value)) is not None


def _tag_match_values(value: Any) -> tuple[str, Optional[float]]:
    """What a tag filter value matches: its string form, and its number (``"0.01"`` matches 0.01)."""
    _, text, number = tag_columns(value)
    if number is None and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    return text, number


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


def _has_marker(job_dir: str, task_id: str) -> bool:
    """Whether ``NAME.done`` or ``NAME.failed`` exists: string paths, no pathlib, as listing
    100,000 jobs checks thousands of unfinished ones and most have neither."""
    base = os.path.join(job_dir, disk.task_name(task_id))
    return os.path.exists(base + ".done") or os.path.exists(base + ".failed")


def _submitted(time: Optional[float]) -> float:
    return -1.0 if time is None else time


def _pick(membership: tuple) -> tuple:
    """(run, submitted_time, tags) of a job_runs row tuple (job, run, submitted, transient, tags)."""
    return membership[1], membership[2], membership[4]


def _parse_state(state: StateLike) -> JobState:
    return state if isinstance(state, JobState) else JobState.parse(state)


class WorkspaceIndex:
    """The index of one workspace; thread-safe, and safe to share between processes.

    Opening it creates or rebuilds ``WS/.xpm/index.db`` when needed. ``process_alive`` is the
    launcher layer's liveness check of ``NAME.pid`` processes, used when reading from disk.
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
        self._busy_timeout = busy_timeout
        self._process_alive = process_alive
        self._lock = threading.RLock()
        # A plain sqlite3 connection: sqlite-utils is imported only to create the schema, so
        # that reading the index (every `xpm jobs` command) does not pay for importing it.
        self._connection: Optional[sqlite3.Connection] = None
        #: Whether opening found the index missing, stale or corrupt and rebuilt it from disk.
        self.rebuilt_on_open = False
        self._open()

    # -- opening, schema, recovery -------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> WorkspaceIndex:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"the workspace index {self.path} is closed")
        return self._connection

    @property
    def _db(self) -> sqlite_utils.Database:
        """The connection seen through sqlite-utils (creating tables and indexes)."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn, execute_plugins=False)

    def _connect(self, path: Union[str, Path, None] = None) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        conn = sqlite3.connect(
            self.path if path is None else path, timeout=self._busy_timeout, isolation_level=None,
            check_same_thread=False,
        )
        # Filters (`xpm jobs --filter 'tag ~ "re"'`) use REGEXP, which SQLite leaves undefined.
        conn.create_function("regexp", 2, _regexp, deterministic=True)
        return conn

    def _open(self) -> None:
        try:
            self._open_file()
        except (OSError, sqlite3.OperationalError) as error:
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise  # busy beyond the timeout: a real problem, not a reason to go elsewhere
            # A workspace we may read but not write (another user's, a read-only mount):
            # answer from the files through an index in memory.
            logger.warning("cannot use the workspace index %s (%s): building one in memory from the files",
                           self.path, error)
            self.close()
            self._connection = self._connect(":memory:")
            self._create_schema()
            self._fill_from_disk()
            self.rebuilt_on_open = True

    def _open_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, _file_lock(self.path.with_name(INDEX_FILE + ".lock")):
            self._connection = self._connect()
            try:
                problem = self._schema_problem()
            except sqlite3.DatabaseError as error:
                if not _is_corruption(error):
                    raise
                problem = f"corrupt ({error})"
            if problem is not None:
                self._recreate(problem)
                self.rebuilt_on_open = True
            self._configure_journal()

    def _schema_problem(self) -> Optional[str]:
        """Why the open index cannot be used as is ("missing", "stale ..."), or None."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return None
        tables = self._conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if version == 0 and not tables:
            return "missing"
        return f"stale (schema version {version}, this xpm uses {SCHEMA_VERSION})"

    def _recreate(self, problem: str) -> None:
        """Start from an empty index and fill it from disk; caller holds the file lock."""
        if problem.startswith("corrupt"):
            logger.warning("workspace index %s is %s: rebuilding it from the files", self.path, problem)
            self._conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{self.path}{suffix}")
            self._connection = self._connect()
        elif problem == "missing":
            logger.info("workspace index %s is missing: building it from the files", self.path)
        else:
            logger.info("workspace index %s is %s: rebuilding it from the files", self.path, problem)
        self._create_schema()
        self._fill_from_disk()
        # Only now: an index whose rebuild was interrupted has version 0 and is rebuilt again.
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _create_schema(self) -> None:
        db = self._db
        self._conn.execute("PRAGMA user_version = 0")
        for table in list(db.table_names()):
            db[table].drop()
        db["experiments"].create({"experiment_id": str}, pk="experiment_id")
        # Integer keys: job ids are 64-character hashes, and repeating them in every
        # membership and tag row would triple the index's size and slow every join.
        db["runs"].create(
            {"id": int, "experiment_id": str, "run_id": str, "status": str, "hostname": str,
             "started_at": float, "ended_at": float},
            pk="id",
            not_null={"experiment_id", "run_id"},
        )
        db["runs"].create_index(["experiment_id", "run_id"], unique=True)
        # path: relative to the workspace when inside it, so a moved workspace keeps its index.
        # run, submitted_time, tags: copied from the job_runs row of the run that submitted the
        # job last, so that listing every job reads this one table.
        db["jobs"].create(
            {"id": int, "job_id": str, "task_id": str, "path": str, "state": str,
             "failure_reason": str, "started_time": float, "ended_time": float,
             "exit_code": int, "retry_count": int, "run": int, "submitted_time": float,
             "tags": str},
            pk="id",
            not_null={"job_id", "task_id", "path", "state"},
        )
        db["jobs"].create_index(["job_id"], unique=True)
        db["jobs"].create_index(["task_id", "job_id"])
        db["jobs"].create_index(["state"])
        # `xpm jobs list` shows the most recent first: reading this index backwards spares
        # sorting 100,000 rows (the rowid, last in every index, breaks ties).
        db["jobs"].create_index(["submitted_time"])
        # One row per (job, run) that submitted it; tags: the run's tags of the job as a JSON
        # object (values keep their JSON type), what listings show.
        db["job_runs"].create(
            {"job": int, "run": int, "submitted_time": float, "transient": int, "tags": str},
            pk=("job", "run"),
        )
        db["job_runs"].create_index(["run"])
        # The same tags, one row each, for filtering: value is the JSON (keeps the type), text
        # the string form (a string as is, anything else as JSON), number the numeric value
        # (NULL unless an int or a float).
        db["job_tags"].create(
            {"job": int, "run": int, "key": str, "value": str, "text": str, "number": float},
            pk=("job", "run", "key"),
        )
        db["job_tags"].create_index(["key", "text"])
        db["job_tags"].create_index(["key", "number"])
        db["job_dependencies"].create({"job_id": str, "depends_on": str}, pk=("job_id", "depends_on"))
        db["job_dependencies"].create_index(["depends_on"])

    def _configure_journal(self) -> None:
        try:
            journal = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
            if _on_network_filesystem(self.path.parent):
                if journal == "wal":
                    self._conn.execute("PRAGMA journal_mode = delete")
            else:
                if journal != "wal":
                    self._conn.execute("PRAGMA journal_mode = wal")
                # Safe with WAL: a power loss may drop the last commits, never corrupt the file,
                # and the index can be rebuilt from disk anyway.
                self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as error:
            # Another process holds the database; it keeps the journal mode it has.
            logger.debug("could not set the journal mode of %s: %s", self.path, error)

    def _recover(self, error: sqlite3.DatabaseError) -> None:
        """After ``error`` (corruption) on a query: rebuild, unless another process already did."""
        with self._lock, _file_lock(self.path.with_name(INDEX_FILE + ".lock")):
            self.close()
            self._connection = self._connect()
            try:
                healthy = self._schema_problem() is None and (
                    self._conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                )
            except sqlite3.DatabaseError:
                healthy = False
            if not healthy:
                self._recreate(f"corrupt ({error})")
            self._configure_journal()

    def _retrying(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``operation``; on corruption, rebuild the index from disk and run it once more."""
        with self._lock:
            try:
                return operation(*args, **kwargs)
            except sqlite3.DatabaseError as error:
                if not _is_corruption(error):
                    raise
                self._recover(error)
                return operation(*args, **kwargs)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so concurrent writers queue on the busy
        # timeout instead of failing when a read transaction tries to become a write one.
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # some errors (corruption, full disk) already rolled it back
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- rebuilding from disk ------------------------------------------------------------

    def rebuild(self) -> None:
        """Replace the whole content of the index with what the files say (``xpm experiments sync``).

        Events recorded by drivers while the files are read may be lost until the next rebuild;
        the markers still win when those jobs are read.
        """
        self._retrying(self._fill_from_disk)

    def _fill_from_disk(self) -> None:
        snapshot = disk.read_workspace(self.workspace, self._process_alive)
        job_ids = {job_id: number for number, job_id in enumerate(snapshot.jobs, 1)}
        run_ids = {(run.experiment_id, run.run_id): number for number, run in enumerate(snapshot.runs, 1)}
        memberships, tags, dependencies = [], [], set()
        latest: dict[int, tuple] = {}  # job -> its last membership, chosen as live updates do
        ordered_runs = sorted(snapshot.runs, key=lambda run: disk.run_order_key(run.run_id, run.started_at))
        for run in ordered_runs:
            run_key = run_ids[run.experiment_id, run.run_id]
            for entry in run.jobs:
                job_key = job_ids[entry.job_id]
                membership = (job_key, run_key, entry.submitted_time, int(entry.transient),
                              tags_json(entry.tags))
                memberships.append(membership)
                previous = latest.get(job_key)
                if previous is None or _submitted(previous[2]) <= _submitted(entry.submitted_time):
                    latest[job_key] = membership
                tags.extend((job_key, run_key, key, *tag_columns(value)) for key, value in entry.tags.items())
                dependencies.update((entry.job_id, dep) for dep in entry.depends_on)
        with self._transaction() as conn:
            for table in ("job_dependencies", "job_tags", "job_runs", "jobs", "runs", "experiments"):
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
            no_run = (None, None, None, None, None)
            conn.executemany(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(job_ids[j.job_id], j.job_id, j.task_id, self._stored_path(j.path), j.state.value,
                  j.failure_reason, j.started_time, j.ended_time, j.exit_code, j.retry_count,
                  *_pick(latest.get(job_ids[j.job_id], no_run)))
                 for j in snapshot.jobs.values()],
            )
            conn.executemany("INSERT INTO job_runs VALUES (?, ?, ?, ?, ?)", memberships)
            conn.executemany("INSERT INTO job_tags VALUES (?, ?, ?, ?, ?, ?)", tags)
            conn.executemany("INSERT INTO job_dependencies VALUES (?, ?)", sorted(dependencies))

    def _stored_path(self, path: Union[str, os.PathLike]) -> str:
        path = Path(path)
        try:
            return path.relative_to(self.workspace).as_posix()
        except ValueError:
            return str(path)

    # -- writes: the driver records events as they happen --------------------------------

    def record_run_started(
        self, experiment_id: str, run_id: str, hostname: Optional[str], started_at: Timestamp
    ) -> None:
        """A run of ``experiment_id`` started (its ``status.json`` says "running")."""
        self._retrying(self._run_started, experiment_id, run_id, hostname, disk.to_timestamp(started_at))

    def _run_started(self, experiment_id: str, run_id: str, hostname: Optional[str], started: Optional[float]) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
            conn.execute(
                "INSERT INTO runs (experiment_id, run_id, status, hostname, started_at) "
                "VALUES (?, ?, 'running', ?, ?) "
                "ON CONFLICT (experiment_id, run_id) DO UPDATE SET status = 'running', "
                "hostname = excluded.hostname, started_at = excluded.started_at, ended_at = NULL",
                (experiment_id, run_id, hostname, started),
            )

    def record_run_finished(
        self, experiment_id: str, run_id: str, status: str, ended_at: Timestamp
    ) -> None:
        """A run ended with ``status`` ("done" or "failed", as its ``status.json``)."""
        self._retrying(self._run_finished, experiment_id, run_id, status, disk.to_timestamp(ended_at))

    def _run_finished(self, experiment_id: str, run_id: str, status: str, ended: Optional[float]) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
            conn.execute(
                "INSERT INTO runs (experiment_id, run_id, status, ended_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (experiment_id, run_id) DO UPDATE SET status = excluded.status, "
                "ended_at = excluded.ended_at",
                (experiment_id, run_id, status, ended),
            )

    def record_job_submitted(self, experiment_id: str, run_id: str, job: JobSubmission) -> None:
        """A job was added to a run (its ``jobs.jsonl`` line); a job new to the index is unscheduled."""
        self.record_jobs_submitted(experiment_id, run_id, [job])

    def record_jobs_submitted(self, experiment_id: str, run_id: str, jobs: Iterable[JobSubmission]) -> None:
        """Several jobs added to a run, in one transaction (a plan submitting many jobs at once)."""
        self._retrying(self._jobs_submitted, experiment_id, run_id, list(jobs))

    def _jobs_submitted(self, experiment_id: str, run_id: str, jobs: list[JobSubmission]) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments VALUES (?)", (experiment_id,))
            conn.execute(
                "INSERT OR IGNORE INTO runs (experiment_id, run_id) VALUES (?, ?)", (experiment_id, run_id)
            )
            run_key = conn.execute(
                "SELECT id FROM runs WHERE experiment_id = ? AND run_id = ?", (experiment_id, run_id)
            ).fetchone()[0]
            for job in jobs:
                job_key = conn.execute(
                    "INSERT INTO jobs (job_id, task_id, path, state) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET task_id = excluded.task_id, path = excluded.path "
                    "RETURNING id",
                    (job.job_id, job.task_id, self._stored_path(job.path), JobState.UNSCHEDULED.value),
                ).fetchone()[0]
                submitted, tags = disk.to_timestamp(job.submitted_time), tags_json(job.tags)
                conn.execute(
                    "INSERT OR REPLACE INTO job_runs VALUES (?, ?, ?, ?, ?)",
                    (job_key, run_key, submitted, int(job.transient), tags),
                )
                conn.execute(
                    "UPDATE jobs SET run = ?, submitted_time = ?, tags = ? WHERE id = ? "
                    "AND (run IS NULL OR COALESCE(submitted_time, -1) <= COALESCE(?, -1))",
                    (run_key, submitted, tags, job_key, submitted),
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
        known = self._retrying(
            self._job_state, job_id, state, reason, disk.to_timestamp(started),
            disk.to_timestamp(ended), exit_code, retry_count,
        )
        if not known:
            logger.warning("workspace index %s: state %s of unknown job %s ignored", self.path, state, job_id)
        return known

    def _job_state(self, job_id: str, state: JobState, reason: Optional[str], started: Optional[float],
                   ended: Optional[float], exit_code: Optional[int], retry_count: Optional[int]) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = ?, failure_reason = ?, "
                "started_time = COALESCE(?, started_time), ended_time = COALESCE(?, ended_time), "
                "exit_code = COALESCE(?, exit_code), retry_count = COALESCE(?, retry_count) "
                "WHERE job_id = ?",
                (state.value, reason, started, ended, exit_code, retry_count, job_id),
            )
            return cursor.rowcount > 0

    # -- reads -----------------------------------------------------------------------------

    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, sorted by id."""
        return self._retrying(self._experiments)

    def _experiments(self) -> list[ExperimentRecord]:
        runs: dict[str, list[tuple]] = {}
        for experiment_id, run_id, started_at in self._conn.execute(
            "SELECT e.experiment_id, r.run_id, r.started_at FROM experiments e "
            "LEFT JOIN runs r USING (experiment_id)"
        ):
            keys = runs.setdefault(experiment_id, [])
            if run_id is not None:
                keys.append((disk.run_order_key(run_id, started_at), run_id))
        return [
            ExperimentRecord(
                experiment_id=experiment_id,
                run_count=len(keys),
                latest_run_id=max(keys)[1] if keys else None,
            )
            for experiment_id, keys in sorted(runs.items())
        ]

    def runs(self, experiment_id: str) -> list[RunRecord]:
        """The runs of an experiment, oldest first (empty for an unknown experiment)."""
        return self._retrying(self._runs, experiment_id)

    def _runs(self, experiment_id: str) -> list[RunRecord]:
        rows = self._conn.execute(
            "SELECT r.experiment_id, r.run_id, r.status, r.hostname, r.started_at, r.ended_at, "
            "(SELECT COUNT(*) FROM job_runs m WHERE m.run = r.id) FROM runs r WHERE r.experiment_id = ?",
            (experiment_id,),
        ).fetchall()
        records = [
            RunRecord(experiment_id=row[0], run_id=row[1], status=row[2], hostname=row[3],
                      started_at=row[4], ended_at=row[5], job_count=row[6])
            for row in rows
        ]
        return sorted(records, key=lambda run: disk.run_order_key(run.run_id, run.started_at))

    def latest_run_id(self, experiment_id: str) -> Optional[str]:
        """The latest run of an experiment (by start time, then run id), or None."""
        runs = self.runs(experiment_id)
        return runs[-1].run_id if runs else None

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
        return self._retrying(self._jobs, experiment_id, run_id, task_id, wanted, tags, None, verify)

    def job(self, job_id: str) -> Optional[JobRecord]:
        """One job, re-checked against its markers, described by the run that submitted it last."""
        found = self._retrying(self._jobs, None, None, None, None, None, job_id, True)
        return found[0] if found else None

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
        """Jobs for which the SQL ``condition`` holds, most recently submitted first.

        ``condition`` (with ``?`` placeholders for ``params``) is an SQL expression over ``j``, a
        row of the jobs table: ``j.id``, ``j.job_id``, ``j.task_id``, ``j.state`` (lower-case),
        ``j.run`` (the key of the run describing the job: the one that submitted it last, within
        ``experiment_id`` if given). It may query ``job_tags`` (``job``, ``run``, ``key``,
        ``text``, ``number``; see ``tag_columns``) and use ``x REGEXP pattern`` (``re.search``).
        Without a condition, every job (of the experiment) is listed.

        Markers win: a job the index calls unfinished is re-checked against its markers. If the
        condition reads ``j.state``, give ``recheck``, the same condition evaluated in Python on
        a record: it decides for those re-checked jobs, which are all the unfinished ones unless
        ``recheck_condition`` (SQL and its parameters) says which may pass once their markers
        are read (``xpm_core.jobfilter.sql.unfinished_sql``). ``limit`` keeps the first ones.
        """
        return self._retrying(self._jobs_where, condition, tuple(params), recheck, recheck_condition,
                              experiment_id, limit)

    def _where_query(
        self,
        columns: str,
        condition: Optional[str],
        params: tuple,
        recheck: Optional[Callable[[JobRecord], bool]],
        recheck_condition: Optional[tuple[str, Sequence[Any]]],
        experiment_id: Optional[str],
        limit: Optional[int],
    ) -> tuple[str, list[Any]]:
        """The query behind jobs_where and job_lines, reading ``columns`` of ``j``."""
        query_params: list[Any] = []
        if experiment_id is None:
            source = "jobs j"
        else:
            # The same columns as the jobs table, with run, submitted_time and tags taken from
            # the experiment's run that submitted the job last (see _jobs for the MAX() idiom).
            source = """(
                WITH m AS (
                    SELECT jr.job, jr.run, MAX(COALESCE(jr.submitted_time, -1)) AS submitted, jr.tags
                    FROM job_runs jr JOIN runs r ON r.id = jr.run WHERE r.experiment_id = ? GROUP BY jr.job
                )
                SELECT jobs.id, jobs.job_id, jobs.task_id, jobs.path, jobs.state, jobs.failure_reason,
                       jobs.started_time, jobs.ended_time, jobs.exit_code, jobs.retry_count, m.run,
                       NULLIF(m.submitted, -1) AS submitted_time, m.tags
                FROM jobs JOIN m ON m.job = jobs.id
            ) j"""
            query_params.append(experiment_id)
        where = ""
        if condition is not None:
            where = f"WHERE ({condition})"
            query_params.extend(params)
            if recheck is not None:
                # Unfinished jobs may have finished since the index last heard of them: fetch
                # them (those that may pass), and let recheck decide once their markers are read.
                where += f" OR (j.state IN ({', '.join('?' * len(_UNFINISHED))})"
                query_params.extend(sorted(_UNFINISHED))
                if recheck_condition is not None:
                    where += f" AND ({recheck_condition[0]})"
                    query_params.extend(recheck_condition[1])
                where += ")"
        sql_limit = ""
        if limit is not None and (condition is None or recheck is None):
            sql_limit = f"LIMIT {int(limit)}"
        sql = f"SELECT {columns} FROM {source} {where} ORDER BY j.submitted_time DESC, j.id DESC {sql_limit}"
        return sql, query_params

    def _jobs_where(
        self,
        condition: Optional[str],
        params: tuple,
        recheck: Optional[Callable[[JobRecord], bool]],
        recheck_condition: Optional[tuple[str, Sequence[Any]]],
        experiment_id: Optional[str],
        limit: Optional[int],
    ) -> list[JobRecord]:
        sql, query_params = self._where_query(
            "j.job_id, j.task_id, j.path, j.state, j.failure_reason, j.started_time, j.ended_time, "
            "j.exit_code, j.retry_count, j.run, j.submitted_time, j.tags",
            condition, params, recheck, recheck_condition, experiment_id, limit,
        )
        runs = {key: (xp, run) for key, xp, run in self._conn.execute("SELECT id, experiment_id, run_id FROM runs")}
        no_run = (None, None)
        prefix = str(self.workspace) + os.sep
        states_by_name = _STATES
        unfinished = _UNFINISHED
        records: list[JobRecord] = []
        corrected: list[JobRecord] = []
        for row in self._conn.execute(sql, query_params):
            # This loop runs once per listed job: plain operations, positional arguments.
            path = row[2] if row[2].startswith(os.sep) else prefix + row[2]
            experiment, run = runs.get(row[9], no_run)
            record = JobRecord(row[0], row[1], path, states_by_name.get(row[3], JobState.UNSCHEDULED),
                               row[4], row[5], row[6], row[7], row[8], experiment, run, row[10], row[11])
            if row[3] in unfinished:
                fixed = self._from_markers(record)
                if fixed is not record:
                    corrected.append(fixed)
                    record = fixed
                if recheck is not None and condition is not None and not recheck(record):
                    continue
            records.append(record)
            if limit is not None and len(records) >= limit:
                break
        if corrected:
            self._write_back(corrected)
        return records

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
        instead of twelve and builds no record. Unfinished jobs are re-checked as jobs_where does.
        """
        return self._retrying(self._job_lines, condition, tuple(params), recheck, recheck_condition,
                              experiment_id, limit, paths, tags)

    def _job_lines(
        self,
        condition: Optional[str],
        params: tuple,
        recheck: Optional[Callable[[JobRecord], bool]],
        recheck_condition: Optional[tuple[str, Sequence[Any]]],
        experiment_id: Optional[str],
        limit: Optional[int],
        paths: bool,
        tags: bool,
    ) -> list[JobLine]:
        unfinished = _UNFINISHED
        filtered = condition is not None and recheck is not None
        # Besides what is asked for, the folder of each unfinished job (to look for its markers).
        # Placeholders of the select list come before those of the query's other parts.
        column_params: list[Any] = []
        path_column = "j.path"
        if not paths:
            path_column = f"CASE WHEN j.state IN ({', '.join('?' * len(unfinished))}) THEN j.path END"
            column_params.extend(sorted(unfinished))
        columns = f"j.job_id, j.task_id, j.state, {path_column}, {'j.tags' if tags else 'NULL'}"
        sql, query_params = self._where_query(columns, condition, params, recheck, recheck_condition,
                                              experiment_id, limit)
        rows = self._conn.execute(sql, column_params + query_params).fetchall()

        prefix = str(self.workspace) + os.sep
        # Unfinished jobs are read in full, so that their markers win (and the filter is
        # evaluated on what they say) as in jobs_where: with a filter all of them, as the query
        # fetched them whatever the condition says; without, those whose folder holds a marker.
        pending = [row[0] for row in rows if row[2] in unfinished and (
            filtered or _has_marker(row[3] if row[3].startswith(os.sep) else prefix + row[3], row[1]))]
        rechecked: dict[str, JobRecord] = {}
        if pending:
            for record in self._jobs_where(
                "j.job_id IN (SELECT value FROM json_each(?))", (json.dumps(pending),), None, None, experiment_id,
                None,
            ):
                rechecked[record.job_id] = record

        states = _STATES
        # Built in one comprehension (the loop runs 100,000 times); tuple.__new__ skips the
        # NamedTuple's Python-level __new__. Unfinished jobs are corrected just after.
        new = tuple.__new__
        if paths:
            lines = [new(JobLine, (task_id, job_id, states[state],
                                   path if path.startswith(os.sep) else prefix + path, tags_json))
                     for job_id, task_id, state, path, tags_json in rows]
        else:
            lines = [new(JobLine, (task_id, job_id, states[state], None, tags_json))
                     for job_id, task_id, state, _, tags_json in rows]
        if pending:
            pending_ids = set(pending)
            kept = []
            for line in lines:
                if line.job_id in pending_ids:
                    record = rechecked.get(line.job_id)
                    if record is None:  # forgotten meanwhile (`xpm jobs clean`)
                        continue
                    if filtered and not recheck(record):
                        continue
                    line = new(JobLine, (line.task_id, line.job_id, record.state,
                                         record.path if paths else None, record.tags_json if tags else None))
                kept.append(line)
            lines = kept
        return lines if limit is None else lines[:limit]

    def find_jobs(self, job_id_prefix: str, task_id: Optional[str] = None, limit: int = 2) -> list[JobRecord]:
        """Jobs whose id starts with ``job_id_prefix`` (of ``task_id`` if given), by job id, at most
        ``limit`` of them; each re-checked against its markers, as ``job()`` does.

        ``xpm jobs log abc12`` resolves a hash prefix with it: two results mean ambiguous.
        """
        return self._retrying(self._find_jobs, job_id_prefix, task_id, limit)

    def _find_jobs(self, job_id_prefix: str, task_id: Optional[str], limit: int) -> list[JobRecord]:
        # A range on the unique job_id index: ids starting with the prefix sort between the
        # prefix and the prefix followed by the highest code point.
        conditions, params = ["j.job_id >= ?", "j.job_id < ?"], [job_id_prefix, job_id_prefix + "\U0010ffff"]
        if task_id is not None:
            conditions.append("j.task_id = ?")
            params.append(task_id)
        rows = self._conn.execute(
            "SELECT j.job_id FROM jobs j WHERE " + " AND ".join(conditions) + f" ORDER BY j.job_id LIMIT {int(limit)}",
            params,
        ).fetchall()
        found = []
        for (job_id,) in rows:
            found.extend(self._jobs(None, None, None, None, None, job_id, True))
        return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only SQL query over the index's tables (what monitors aggregate)."""
        return self._retrying(lambda: self._conn.execute(sql, tuple(params)).fetchall())

    def forget_jobs(self, job_ids: Iterable[str]) -> int:
        """Remove jobs from the index (their folders were deleted: ``xpm jobs clean``).

        Their memberships in runs, tags and own dependencies go too; jobs that depend on them keep
        naming them. Returns how many jobs the index knew. The runs' ``jobs.jsonl`` still list
        them, so a rebuild brings them back as unscheduled.
        """
        return self._retrying(self._forget_jobs, [(job_id,) for job_id in job_ids])

    def _forget_jobs(self, job_ids: list[tuple[str]]) -> int:
        with self._transaction() as conn:
            for table, column in (("job_tags", "job"), ("job_runs", "job")):
                conn.executemany(
                    f"DELETE FROM {table} WHERE {column} = (SELECT id FROM jobs WHERE job_id = ?)", job_ids
                )
            conn.executemany("DELETE FROM job_dependencies WHERE job_id = ?", job_ids)
            before = conn.total_changes
            conn.executemany("DELETE FROM jobs WHERE job_id = ?", job_ids)
            return conn.total_changes - before

    def _jobs(
        self,
        experiment_id: Optional[str],
        run_id: Optional[str],
        task_id: Optional[str],
        states: Optional[set[JobState]],
        tags: Optional[Mapping[str, Any]],
        job_id: Optional[str],
        verify: bool,
    ) -> list[JobRecord]:
        run_filter, params = "", []
        if experiment_id is not None:
            run_filter = "JOIN runs r ON r.id = jr.run WHERE r.experiment_id = ?"
            params.append(experiment_id)
            if run_id is not None:
                run_filter += " AND r.run_id = ?"
                params.append(run_id)
        run_column = "j.run" if experiment_id is None else "m.run"
        conditions = []
        if job_id is not None:
            conditions.append("j.job_id = ?")
            params.append(job_id)
        if task_id is not None:
            conditions.append("j.task_id = ?")
            params.append(task_id)
        if states is not None:
            # Unfinished jobs may have finished since the index last heard of them: fetch them
            # too, and filter once their markers are checked.
            fetched = sorted({state.value for state in states} | _UNFINISHED)
            conditions.append(f"j.state IN ({', '.join('?' * len(fetched))})")
            params.extend(fetched)
        for key, value in (tags or {}).items():
            text, number = _tag_match_values(value)
            conditions.append(
                f"EXISTS (SELECT 1 FROM job_tags t WHERE t.job = j.id AND t.run = {run_column} "
                "AND t.key = ? AND (t.text = ? OR t.number = ?))"
            )
            params.extend([key, text, number])
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = ("j.job_id, j.task_id, j.path, j.state, j.failure_reason, j.started_time, "
                   "j.ended_time, j.exit_code, j.retry_count")
        if experiment_id is None:
            # Each job row carries the membership of the run that submitted it last.
            sql = (f"SELECT {columns}, j.run, j.submitted_time, j.tags FROM jobs j {where} "
                   "ORDER BY j.task_id, j.job_id")
        else:
            # SQLite takes the other columns of a MAX() aggregate from the row holding the
            # maximum: m is, for each job, the membership of the experiment's run that
            # submitted it last.
            sql = f"""
                WITH m AS (
                    SELECT jr.job, jr.run, MAX(COALESCE(jr.submitted_time, -1)) AS submitted, jr.tags
                    FROM job_runs jr {run_filter} GROUP BY jr.job
                )
                SELECT {columns}, m.run, m.submitted, m.tags FROM jobs j JOIN m ON m.job = j.id
                {where} ORDER BY j.task_id, j.job_id
            """
        runs = {key: (xp, run) for key, xp, run in self._conn.execute("SELECT id, experiment_id, run_id FROM runs")}
        no_run = (None, None)
        prefix = str(self.workspace) + os.sep
        states_by_name = _STATES
        records = []
        for row in self._conn.execute(sql, params):
            # This loop runs once per listed job: plain operations, positional arguments.
            path = row[2] if row[2].startswith(os.sep) else prefix + row[2]
            experiment, run = runs.get(row[9], no_run)
            submitted = row[10] if row[10] is not None and row[10] >= 0 else None
            records.append(
                JobRecord(row[0], row[1], path, states_by_name.get(row[3], JobState.UNSCHEDULED),
                          row[4], row[5], row[6], row[7], row[8], experiment, run, submitted, row[11])
            )
        records = self._check_markers(records, verify)
        if states is not None:
            records = [record for record in records if record.state in states]
        return records

    def _check_markers(self, records: list[JobRecord], verify: bool) -> list[JobRecord]:
        """Apply the markers-win rule to ``records``; write corrections back to the index."""
        corrected = []
        for position, record in enumerate(records):
            if record.state in _FINISHED and not verify:
                continue
            fixed = self._from_markers(record)
            if fixed is not record:
                corrected.append(fixed)
                records[position] = fixed
        if corrected:
            self._write_back(corrected)
        return records

    def _from_markers(self, record: JobRecord) -> JobRecord:
        if not record.state.finished and not _has_marker(record.path, record.task_id):
            return record  # no marker: the driver's view of an unfinished job stands
        job_dir = Path(record.path)
        marker = disk.read_final_marker(job_dir, record.task_id)
        if marker is not None and marker.state is JobState.ERROR and record.state in _NOT_LAUNCHED:
            # A job waiting for its retry keeps the .failed of its previous attempt until the
            # scheduler launches it again (and deletes the marker): the driver's state stands.
            return record
        if marker is not None:
            exit_code = marker.exit_code if marker.exit_code is not None else record.exit_code
            if (marker.state, marker.failure_reason, exit_code) == (
                record.state, record.failure_reason, record.exit_code
            ):
                return record
            return attrs.evolve(record, state=marker.state, failure_reason=marker.failure_reason,
                                exit_code=exit_code)
        if not record.state.finished:
            return record  # no marker: the driver's view of an unfinished job stands
        # The index says finished but no marker does (purged, or reset): the files decide.
        on_disk = disk.read_job(job_dir, record.task_id, record.job_id, self._process_alive)
        return attrs.evolve(record, state=on_disk.state, failure_reason=on_disk.failure_reason,
                            exit_code=on_disk.exit_code)

    def _write_back(self, records: list[JobRecord]) -> None:
        try:
            with self._transaction() as conn:
                conn.executemany(
                    "UPDATE jobs SET state = ?, failure_reason = ?, exit_code = ? WHERE job_id = ?",
                    [(r.state.value, r.failure_reason, r.exit_code, r.job_id) for r in records],
                )
        except sqlite3.OperationalError as error:
            # A read-only or busy index: the answer is right anyway, the fix waits for next time.
            logger.debug("could not write marker states back to %s: %s", self.path, error)

    def get_dependencies_map(
        self, experiment_id: Optional[str] = None, run_id: Optional[str] = None
    ) -> dict[str, list[str]]:
        """job id -> ids of the jobs it depends on: of the jobs of one run of ``experiment_id``
        (the latest when ``run_id`` is None) if given, else of every job."""
        return self._retrying(self._dependencies, experiment_id, run_id)

    def _dependencies(self, experiment_id: Optional[str], run_id: Optional[str]) -> dict[str, list[str]]:
        if experiment_id is None:
            rows = self._conn.execute("SELECT job_id, depends_on FROM job_dependencies ORDER BY 1, 2")
        else:
            if run_id is None:
                runs = self._runs(experiment_id)
                run_id = runs[-1].run_id if runs else None
            rows = self._conn.execute(
                "SELECT d.job_id, d.depends_on FROM job_dependencies d JOIN jobs j ON j.job_id = d.job_id "
                "JOIN job_runs m ON m.job = j.id JOIN runs r ON r.id = m.run "
                "WHERE r.experiment_id = ? AND r.run_id = ? ORDER BY 1, 2",
                (experiment_id, run_id),
            )
        dependencies: dict[str, list[str]] = {}
        for job_id, depends_on in rows:
            dependencies.setdefault(job_id, []).append(depends_on)
        return dependencies


def rebuild(workspace: Union[str, os.PathLike], *, process_alive: Optional[disk.ProcessProbe] = None) -> None:
    """Rebuild the index of ``workspace`` from its files (what ``xpm experiments sync`` does)."""
    with WorkspaceIndex(workspace, process_alive=process_alive) as index:
        if not index.rebuilt_on_open:
            index.rebuild()
