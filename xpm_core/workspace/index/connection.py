"""The index's SQLite connection: opening it (WAL where the file system allows, a busy timeout),
the lock that serializes creating and rebuilding it between processes, and recovery.

Every operation on the index goes through :meth:`IndexConnection.run`: it holds the thread lock
and, when SQLite reports corruption, rebuilds the index from the files and runs the operation
once more. A missing or stale index is rebuilt on opening; one that cannot be opened (a
read-only workspace) is replaced by an index in memory built from the files.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Concatenate, Iterator, Optional, ParamSpec, TypeVar, Union

from xpm_core.workspace.index.schema import create_schema, mark_current, schema_problem
from xpm_core.workspace.index.tags import python_text

# One logger for the whole index (its modules are one component to whoever reads the logs).
logger = logging.getLogger("xpm_core.workspace.index")

DEFAULT_BUSY_TIMEOUT = 60.0  # seconds; drivers of a shared workspace wait for each other's writes

# File systems where SQLite's WAL is unsafe (its shared-memory file does not work across hosts).
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "ceph", "glusterfs",
     "fuse.glusterfs", "fuse.sshfs", "fuse.s3fs", "9p", "afs", "panfs", "orangefs", "pvfs2"}
)
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26

P = ParamSpec("P")
R = TypeVar("R")
#: What fills an empty index from the files (``rebuild.fill_from_disk`` bound to a workspace).
Filler = Callable[[sqlite3.Connection], None]


def is_corruption(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    message = str(error).lower()
    return "malformed" in message or "not a database" in message


def on_network_filesystem(path: Path) -> bool:
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
def file_lock(path: Path) -> Iterator[None]:
    """Serializes creating and rebuilding the index between processes (fcntl lock on ``path``)."""
    import fcntl

    from xpm_core.lock_permissions import open_lock_file

    with open(open_lock_file(path), "r+") as handle:  # with the workspace's lock_mode (shared workspaces)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: Optional[str], value: Any) -> bool:
    """SQLite's ``value REGEXP pattern``: Python's ``re.search`` (false on NULL)."""
    if pattern is None or value is None:
        return False
    return _compiled(pattern).search(str(value)) is not None


def connect(path: Union[str, Path], busy_timeout: float) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    # Filters (`xpm jobs --filter 'tag ~ "re"'`) use REGEXP, which SQLite leaves undefined.
    conn.create_function("regexp", 2, _regexp, deterministic=True)
    # Sorting by a tag whose values are neither numbers nor strings compares their str().
    conn.create_function("xpm_python_text", 1, python_text, deterministic=True)
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction, committed on success and rolled back on error."""
    # IMMEDIATE takes the write lock up front, so concurrent writers queue on the busy
    # timeout instead of failing when a read transaction tries to become a write one.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # some errors (corruption, full disk) already rolled it back
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class IndexConnection:
    """The connection to ``path``, opened (created, rebuilt) at construction; thread-safe."""

    def __init__(self, path: Path, *, busy_timeout: float, fill: Filler) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._fill = fill
        self._lock = threading.RLock()
        self._connection: Optional[sqlite3.Connection] = None
        #: Whether opening found the index missing, stale or corrupt and rebuilt it from disk.
        self.rebuilt_on_open = False
        self._open()

    def run(self, operation: Callable[Concatenate[sqlite3.Connection, P], R], *args: P.args,
            **kwargs: P.kwargs) -> R:
        """``operation(connection, *args, **kwargs)``; on corruption, rebuild the index from the
        files and run it once more."""
        with self._lock:
            try:
                return operation(self._live(), *args, **kwargs)
            except sqlite3.DatabaseError as error:
                if not is_corruption(error):
                    raise
                self._recover(error)
                return operation(self._live(), *args, **kwargs)

    def interrupt(self) -> None:
        """Stop the query running in another thread (it raises "interrupted"); without the lock,
        which that query holds."""
        connection = self._connection
        if connection is not None:
            connection.interrupt()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"the workspace index {self.path} is closed")
        return self._connection

    def _lock_file(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

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
            self._connection = connect(":memory:", self._busy_timeout)
            create_schema(self._connection)
            self._fill(self._connection)
            self.rebuilt_on_open = True

    def _open_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, file_lock(self._lock_file()):
            self._connection = connect(self.path, self._busy_timeout)
            try:
                problem = schema_problem(self._connection)
            except sqlite3.DatabaseError as error:
                if not is_corruption(error):
                    raise
                problem = f"corrupt ({error})"
            # Before any table is made: with WAL and synchronous=NORMAL, each of the schema's
            # statements commits without an fsync (tens of them made a new index cost 0.3 s).
            if problem is None or not problem.startswith("corrupt"):  # corrupt: after recreating it
                self._configure_journal()
            if problem is not None:
                self._recreate(problem)
                self.rebuilt_on_open = True

    def _recreate(self, problem: str) -> None:
        """Start from an empty index and fill it from disk; caller holds the file lock."""
        if problem.startswith("corrupt"):
            logger.warning("workspace index %s is %s: rebuilding it from the files", self.path, problem)
            self._live().close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{self.path}{suffix}")
            self._connection = connect(self.path, self._busy_timeout)
            self._configure_journal()
        elif problem == "missing":
            logger.info("workspace index %s is missing: building it from the files", self.path)
        else:
            logger.info("workspace index %s is %s: rebuilding it from the files", self.path, problem)
        conn = self._live()
        create_schema(conn)
        self._fill(conn)
        mark_current(conn)

    def _configure_journal(self) -> None:
        conn = self._live()
        try:
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if on_network_filesystem(self.path.parent):
                if journal == "wal":
                    conn.execute("PRAGMA journal_mode = delete")
            else:
                if journal != "wal":
                    conn.execute("PRAGMA journal_mode = wal")
                # Safe with WAL: a power loss may drop the last commits, never corrupt the file,
                # and the index can be rebuilt from disk anyway.
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as error:
            # Another process holds the database; it keeps the journal mode it has.
            logger.debug("could not set the journal mode of %s: %s", self.path, error)

    def _recover(self, error: sqlite3.DatabaseError) -> None:
        """After ``error`` (corruption) on a query: rebuild, unless another process already did."""
        with self._lock, file_lock(self._lock_file()):
            self.close()
            self._connection = connect(self.path, self._busy_timeout)
            try:
                healthy = schema_problem(self._connection) is None and (
                    self._connection.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                )
            except sqlite3.DatabaseError:
                healthy = False
            if not healthy:
                self._recreate(f"corrupt ({error})")
            self._configure_journal()
