"""The Launcher interface: *how* jobs are started through a connector, followed and cancelled.

A launcher submits jobs asynchronously and reports their state in batches: the scheduler
calls ``poll`` once per interval with every job of that launcher, so a batch system answers
with one query (``sacct``, ``oarstat``) however many jobs there are. A ``poll`` that declares
the keyword ``files`` also reads, in that same query, the marker files of the jobs it sees
ended (:attr:`ProcessState.files`). What ``submit`` returns, a :class:`ProcessRef`, is saved in
``NAME.pid`` so that a later driver re-attaches to the job.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import os
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping, Sequence

import attrs

if TYPE_CHECKING:
    from xpm_core.plugin.connector import Connector
    from xpm_core.plugin.registry import PluginRegistry


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class JobLaunch:
    """Everything a launcher needs to start one job."""

    job_id: str  # the job's identifier (hash)
    task_id: str
    directory: PurePosixPath  # the job folder, on the connector's host
    name: str  # NAME of NAME.out, NAME.err, NAME.pid ...
    command: tuple[str, ...] = attrs.field(converter=_strings)
    env: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def stdout(self) -> PurePosixPath:
        return self.directory / f"{self.name}.out"

    @property
    def stderr(self) -> PurePosixPath:
        return self.directory / f"{self.name}.err"


class ProcessStatus(str, enum.Enum):
    """What a launcher can say about a submitted job."""

    QUEUED = "queued"  # accepted, waiting for resources
    RUNNING = "running"
    FINISHED = "finished"  # ended; marker files say whether it succeeded
    UNKNOWN = "unknown"  # not visible yet, or the batch system did not answer: ask again later


@attrs.frozen
class ProcessState:
    """A launcher's answer for one job."""

    status: ProcessStatus
    #: The exit code when the launcher knows it.
    exit_code: int | None = None
    #: Why the batch system ended or refused the job (``"timeout"``, ``"cancelled"``,
    #: ``"rejected: PartitionTimeLimit"``); markers written by the job take precedence.
    failure: str | None = None
    #: For a finished job, the text of the files ``poll(refs, files=...)`` was asked to read for
    #: it (by path; ``None`` for a missing file), read in the same query as its state. ``None``
    #: when they were not read: the scheduler then reads them with ``Connector.read_files``.
    files: Mapping[str, str | None] | None = None


# Process types written by experimaestro 2.7.0 in NAME.pid, read as xpm launcher names.
_LEGACY_TYPES = {"local": "direct"}


@attrs.frozen(kw_only=True)
class ProcessRef:
    """A handle on a submitted job, written to ``NAME.pid`` and read back to re-attach."""

    launcher: str  # registry name of the launcher type
    id: str  # pid, or the batch system's job id
    host: str
    connector: Mapping[str, Any] = attrs.field(factory=dict)  # {"name": ..., **options}
    details: Mapping[str, Any] = attrs.field(factory=dict)  # launcher-specific (start stamp ...)

    def to_json(self) -> dict[str, Any]:
        """The ``NAME.pid`` content (``type``/``pid``/``host`` as in experimaestro)."""
        return {
            "type": self.launcher,
            "pid": self.id,
            "host": self.host,
            "connector": dict(self.connector),
            **dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRef:
        """Read a ``NAME.pid`` content, including those experimaestro 2.7.0 writes."""
        try:
            kind = str(data["type"])
            pid = str(data["pid"])
        except KeyError as missing:
            raise ValueError(f"process file lacks the key {missing}: {dict(data)!r}") from None
        details = {k: v for k, v in data.items() if k not in ("type", "pid", "host", "connector")}
        return cls(
            launcher=_LEGACY_TYPES.get(kind, kind),
            id=pid,
            host=str(data.get("host", "")),
            connector=dict(data.get("connector") or {"name": "local"}),
            details=details,
        )


class Launcher(abc.ABC):
    """Starts jobs through a connector; subclasses say how (a process, sbatch, oarsub)."""

    #: The registry name (``xpm_launchers``) this class is declared under.
    name: ClassVar[str] = ""
    #: Seconds between two ``poll`` calls for the jobs of this launcher.
    poll_interval: float = 1.0
    #: How much a :class:`~xpm_core.launchers.dynamic.DynamicLauncher` prefers this launcher.
    priority: float = 0

    def __init__(self, connector: Connector | None = None, *, priority: float = 0) -> None:
        if connector is None:
            from xpm_core.plugin.registry import get_registry

            connector = get_registry().connectors()["local"].create()
        self.connector = connector
        self.priority = priority
        #: Variables set in the environment of every job of this launcher.
        self.environ: dict[str, str] = {}

    @staticmethod
    def get(path: Any) -> Launcher:
        """The default launcher for a workspace at local ``path`` (experimaestro's ``Launcher.get``):
        the direct launcher, with the options of settings.yaml."""
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"cannot create a default launcher for {path!r}: give a local path")
        from xpm_core.settings.launchers import configured_launcher  # noqa: PLC0415

        return configured_launcher("direct")

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable for every job this launcher starts."""
        self.environ[name] = str(value)

    # ---- hooks at submission (experimaestro's listeners) --------------------------------

    @property
    def submit_listeners(self) -> list[Callable[[Any], None]]:
        """Functions called with each job submitted to this launcher (``addListener``)."""
        listeners = self.__dict__.get("_submit_listeners")
        if listeners is None:  # subclasses need not call __init__ for this
            listeners = self.__dict__["_submit_listeners"] = []
        return listeners

    def addListener(self, listener: Callable[[Any], None]) -> None:  # noqa: N802 - experimaestro's name
        """Call ``listener(job)`` when a job is submitted to this launcher, before it is scheduled
        (e.g. to add token dependencies: ``job.dependencies.add(token.dependency(1))``)."""
        self.submit_listeners.append(listener)

    add_listener = addListener

    def onSubmit(self, job: Any) -> None:  # noqa: N802 - experimaestro's name
        """Called by the experiment for each job submitted to this launcher: runs the listeners."""
        for listener in self.submit_listeners:
            listener(job)

    def resolve(self, job: Any) -> Launcher:
        """The launcher that actually starts ``job``, chosen when it is about to start (itself;
        a :class:`~xpm_core.launchers.dynamic.DynamicLauncher` chooses one of its launchers)."""
        return self

    def launcher_info_code(self) -> str:
        """Python code run at the start of the job script, before the task (none by default)."""
        return ""

    @property
    def max_running(self) -> int | None:
        """How many jobs of this launcher may run at once (``None``: no limit from xpm)."""
        return None

    def process_ref(self, launch: JobLaunch, id: str, **details: Any) -> ProcessRef:
        """The handle for a job this launcher just started."""
        return ProcessRef(
            launcher=self.name,
            id=id,
            host=self.connector.hostname,
            connector={"name": self.connector.name, **self.connector.to_spec()},
            details=details,
        )

    @abc.abstractmethod
    async def submit(self, launch: JobLaunch) -> ProcessRef:
        """Start (or queue) a job; its output goes to ``launch.stdout`` / ``launch.stderr``."""

    async def submit_many(self, launches: Sequence[JobLaunch]) -> list[ProcessRef]:
        """Start several jobs; batch systems override this to submit arrays."""
        return [await self.submit(launch) for launch in launches]

    @abc.abstractmethod
    async def poll(self, refs: Sequence[ProcessRef]) -> dict[str, ProcessState]:
        """The state of each job, by ``ref.id``, from one query for all of them.

        A launcher able to read files in that query (the direct launcher over SSH) declares an
        optional keyword ``files: Mapping[str, Sequence[str]] | None = None``: by ``ref.id``,
        the files to read for a job if it is seen finished, returned in
        :attr:`ProcessState.files`. The scheduler passes it only to a ``poll`` that declares
        it (see :func:`poll_reads_files`), so launchers without it keep working: the files
        are then read with one more ``Connector.read_files`` call for all the ended jobs.
        """

    @abc.abstractmethod
    async def cancel(self, ref: ProcessRef) -> None:
        """Stop a job (it then ends with reason ``cancelled``); nothing happens if it ended."""

    async def wait(self, ref: ProcessRef) -> ProcessState:
        """Poll until the job has finished (a convenience for tests and tools)."""
        while True:
            state = (await self.poll([ref])).get(ref.id, ProcessState(ProcessStatus.UNKNOWN))
            if state.status is ProcessStatus.FINISHED:
                return state
            await asyncio.sleep(self.poll_interval)

    @classmethod
    def for_process(cls, ref: ProcessRef, registry: PluginRegistry) -> Launcher:
        """A launcher able to poll and cancel ``ref`` (used to re-attach and by ``xpm jobs kill``)."""
        options = dict(ref.connector)
        connector = registry.connectors()[options.pop("name", "local")].create(**options)
        return cls(connector=connector)


def poll_reads_files(launcher: Launcher) -> bool:
    """Whether ``launcher.poll`` declares the keyword ``files`` (it reads ended jobs' files itself)."""
    import inspect  # noqa: PLC0415 - only when a scheduler starts polling: import xpm_core stays light

    try:
        parameters = inspect.signature(launcher.poll).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature: assume the basic poll
        return False
    return any(
        (p.name == "files" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) or p.kind is p.VAR_KEYWORD
        for p in parameters
    )


def default_max_running() -> int:
    """The default cap on jobs running at once on one machine: its number of CPU cores."""
    return os.cpu_count() or 1
