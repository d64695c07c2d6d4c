"""The Connector interface: *where* jobs run — one host's files, commands, processes and locks.

Paths are POSIX paths on the connector's host, given as ``str`` or ``PurePosixPath``. The local
connector maps them to the machine xpm runs on; a remote one (SSH) to another host. Methods are
synchronous: the scheduler calls them from worker threads, and batch launchers use ``run`` to
call their submission and status commands.
"""

from __future__ import annotations

import abc
import sys
from pathlib import PurePosixPath
from typing import Any, BinaryIO, ContextManager, Mapping, Sequence, Union

import attrs

PathLike = Union[str, PurePosixPath]


@attrs.frozen
class CommandResult:
    """What a finished command returned."""

    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> CommandResult:
        """Raise :class:`CommandError` unless the command succeeded; ``what`` names it in the error."""
        if self.returncode != 0:
            raise CommandError(what, self)
        return self


class CommandError(RuntimeError):
    """A command run through a connector failed."""

    def __init__(self, what: str, result: CommandResult) -> None:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else "no output"
        super().__init__(f"{what} failed with exit code {result.returncode}: {last}")
        self.result = result


@attrs.frozen
class ProcessInfo:
    """What a connector knows about a process it was asked about."""

    running: bool
    #: Exit code, known only for processes this connector object started and reaped itself.
    exit_code: int | None = None
    #: For an ended process, the text of the files :meth:`Connector.processes_and_files` was asked
    #: to read for it (by path; ``None`` for a missing file); ``None`` when they were not read.
    files: Mapping[str, str | None] | None = None


@attrs.frozen
class TreeEntry:
    """One entry below a directory that :meth:`Connector.walk` lists."""

    #: Its path relative to the walked directory, POSIX style (``sub/file.txt``).
    path: str
    #: ``"directory"``, ``"file"`` or ``"symlink"`` (a symbolic link is never followed).
    kind: str
    #: Its size in bytes (files), 0 otherwise.
    size: int = 0
    #: Whether its owner may execute it (files).
    executable: bool = False
    #: Where a symbolic link points, as written in the link.
    target: str | None = None


class Connector(abc.ABC):
    """Access to one host: files, commands, detached processes and exclusive file locks."""

    #: The registry name (``xpm_connectors``) this class is declared under.
    name: str = ""

    @property
    @abc.abstractmethod
    def hostname(self) -> str:
        """The name of the host jobs run on (recorded in ``NAME.pid``)."""

    @abc.abstractmethod
    def to_spec(self) -> dict[str, Any]:
        """Options rebuilding an equivalent connector: ``registry.connectors()[name].create(**spec)``."""

    # ---- files ---------------------------------------------------------------------------

    @abc.abstractmethod
    def exists(self, path: PathLike) -> bool:
        """Whether ``path`` exists (a broken symbolic link does not)."""

    @abc.abstractmethod
    def read_text(self, path: PathLike) -> str:
        """The content of a text file; ``FileNotFoundError`` when it does not exist."""

    def read_files(self, paths: Sequence[PathLike]) -> dict[str, str | None]:
        """The text of several small files (job markers), by ``str(path)``; ``None`` for a missing one.

        The scheduler reads the markers of all the jobs of a host that ended in a polling
        interval with one call. The default reads one file after the other; a remote connector
        overrides it to answer with one round trip to the host.
        """
        contents: dict[str, str | None] = {}
        for path in paths:
            try:
                contents[str(path)] = self.read_text(path)
            except (FileNotFoundError, NotADirectoryError):
                contents[str(path)] = None
        return contents

    @abc.abstractmethod
    def write_text(self, path: PathLike, text: str, *, executable: bool = False) -> None:
        """Write a file atomically (readers see the old or the new content, never a part)."""

    @abc.abstractmethod
    def mkdir(self, path: PathLike) -> None:
        """Create a directory and its parents; nothing happens when it exists."""

    @abc.abstractmethod
    def remove(self, path: PathLike) -> None:
        """Remove a file or symbolic link; nothing happens when it does not exist."""

    @abc.abstractmethod
    def rename(self, source: PathLike, target: PathLike) -> None:
        """Move ``source`` to ``target`` atomically, replacing ``target`` if it exists."""

    @abc.abstractmethod
    def symlink(self, target: PathLike, link: PathLike) -> None:
        """Make ``link`` a symbolic link to ``target``, replacing an existing link."""

    @abc.abstractmethod
    def listdir(self, path: PathLike) -> list[str]:
        """Names of the entries of a directory, sorted."""

    # ---- trees and streams (copying workspaces) -------------------------------------------

    def walk(self, path: PathLike) -> list[TreeEntry]:
        """Every entry below the directory ``path``, parents before their children.

        The default asks GNU ``find`` on the host (one command); connectors override it with
        their own file access. :raises FileNotFoundError: when ``path`` is not a directory.
        """
        fields = "%y %s %m %P\\0%l\\0"
        result = self.run(["find", str(path), "-mindepth", "1", "-printf", fields])
        if result.returncode != 0:
            raise FileNotFoundError(f"cannot list the directory {path}: {result.stderr.strip()}")
        parts = result.stdout.split("\0")
        entries = []
        for header, target in zip(parts[0::2], parts[1::2]):
            kind, size, mode, relative = header.split(" ", 3)
            name = {"d": "directory", "f": "file", "l": "symlink"}.get(kind)
            if name is not None:
                entries.append(TreeEntry(relative, name, int(size) if name == "file" else 0,
                                         bool(int(mode, 8) & 0o100) and name == "file", target or None))
        return sorted(entries, key=lambda entry: entry.path.split("/"))

    def open_read(self, path: PathLike) -> ContextManager[BinaryIO]:
        """A binary stream reading the file ``path`` (files are copied by chunks, never whole)."""
        raise NotImplementedError(f"the {self.name} connector cannot stream files")

    def open_write(self, path: PathLike, *, executable: bool = False) -> ContextManager[BinaryIO]:
        """A binary stream writing the file ``path`` (created or truncated; not atomic: write
        to a temporary name and :meth:`rename` it)."""
        raise NotImplementedError(f"the {self.name} connector cannot stream files")

    def remove_tree(self, path: PathLike) -> None:
        """Remove a directory and everything in it; nothing happens when it does not exist."""
        self.run(["rm", "-rf", "--", str(path)]).check(f"removing {path}")

    # ---- commands and processes ----------------------------------------------------------

    @abc.abstractmethod
    def run(
        self,
        args: Sequence[str],
        *,
        cwd: PathLike | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run a command to completion and capture its output.

        :param env: variables added to the host's environment.
        :raises TimeoutError: when it runs longer than ``timeout`` seconds (it is then killed).
        """

    @abc.abstractmethod
    def spawn(
        self,
        args: Sequence[str],
        *,
        cwd: PathLike,
        env: Mapping[str, str],
        stdout: PathLike,
        stderr: PathLike,
    ) -> tuple[int, str | None]:
        """Start a detached process (its own session: it outlives the driver and Ctrl-C).

        :param env: variables added to the host's environment.
        :param stdout: file receiving its standard output (appended to).
        :returns: its pid and an opaque start stamp telling it apart from a later process
            reusing the pid (``None`` where the host cannot say).
        """

    @abc.abstractmethod
    def process_info(self, pid: int, start: str | None) -> ProcessInfo:
        """Whether the process ``pid`` (started at ``start``) still runs, and its exit code if known."""

    def processes_info(self, processes: Sequence[tuple[int, str | None]]) -> dict[int, ProcessInfo]:
        """:meth:`process_info` of many ``(pid, start)`` at once, by pid.

        Launchers poll all their jobs with it. The default asks one process after the other;
        a remote connector overrides it to answer with one round trip to the host.
        """
        return {pid: self.process_info(pid, start) for pid, start in processes}

    def processes_and_files(
        self, processes: Sequence[tuple[int, str | None]], files: Mapping[int, Sequence[PathLike]]
    ) -> dict[int, ProcessInfo]:
        """:meth:`processes_info`, and for each process seen ended the text of ``files[pid]``
        (:attr:`ProcessInfo.files`), read after its end was seen.

        The direct launcher polls with it the jobs whose markers the scheduler wants. The
        default reads no file (``files`` of the answers stay ``None``, and the scheduler reads
        them with :meth:`read_files`); a remote connector overrides it to answer both in one
        round trip to the host.
        """
        return self.processes_info(processes)

    def interpreter(self) -> str:
        """The Python interpreter that runs job scripts on this host (default: the driver's own).

        A remote connector returns the one its settings name, after checking once that it
        runs xpm there, so that a wrong setting is an error before any job is submitted.
        """
        return sys.executable

    @abc.abstractmethod
    def kill(self, pid: int, *, force: bool = False) -> None:
        """Ask the process group of ``pid`` to stop (SIGTERM), or kill it (``force``: SIGKILL)."""

    # ---- locks ---------------------------------------------------------------------------

    @abc.abstractmethod
    def lock(self, path: PathLike, *, timeout: float | None = None) -> ContextManager[None]:
        """An exclusive lock held through the file ``path`` (created if needed).

        Use as ``with connector.lock(path): ...``. The lock is released when the holding process
        dies. :raises TimeoutError: when it cannot be taken within ``timeout`` seconds
        (``None`` waits forever, ``0`` tries once).
        """
