"""A job: one submitted task, its folder ``jobs/<task-id>/<hash>/``, its state and its dependencies."""

from __future__ import annotations

import enum
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from xpm_core.config.generators import GenerationContext
from xpm_core.names import check_name
from xpm_core.plugin.job_state import JobState

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin
    from xpm_core.config.partial import Partial
    from xpm_core.plugin.launcher import Launcher, ProcessRef
    from xpm_core.runtime.experiment import experiment


class TransientMode(enum.IntEnum):
    """Whether a job runs only when another needs it (``submit(transient=...)``)."""

    NONE = 0  # always runs
    TRANSIENT = 1  # runs only if a non-transient job depends on it
    REMOVE = 2  # like TRANSIENT, and its folder is deleted when the experiment ends

    @classmethod
    def of(cls, value: TransientMode | bool | None) -> TransientMode:
        if value is None or value is False:
            return cls.NONE
        if value is True:
            return cls.TRANSIENT
        return cls(value)


class JobContext(GenerationContext):
    """Where a job's generated paths go: its folder, and ``partials/`` of the workspace."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.path)
        self.job = job

    def partial_path(self, partial: Partial, config: ConfigMixin) -> Path:
        identifier = config.__xpm__.get_partial_identifier(partial)
        path = (
            self.job.workspace
            / "partials"
            / config.__xpmtype__.identifier
            / (partial.name or "")
            / identifier.all.hex()
        )
        self.job.partials[partial.name or ""] = path  # linked from the job folder, locked by the job
        return path


class Job:
    """A task handed to the scheduler; also what ``task.submit()`` records as the task's job."""

    def __init__(
        self,
        task: ConfigMixin,
        *,
        workspace: Path,
        launcher: Launcher,
        max_retries: int,
        transient: TransientMode = TransientMode.NONE,
    ) -> None:
        self.config = task
        self.workspace = workspace
        self.launcher = launcher
        self.max_retries = max_retries
        self.transient = transient
        # Computed before sealing: generated paths depend on the job folder, not the reverse.
        self.identifier = task.__identifier__().all.hex()
        self.task_id = check_name(task.__xpmtype__.identifier, "task identifier")
        self.name = self.task_id.rsplit(".", 1)[-1]
        self.path = workspace / "jobs" / self.task_id / self.identifier

        self.state = JobState.UNSCHEDULED
        self.failure_reason: str | None = None
        self.exit_code: int | None = None
        self.retry_count = 0
        self.submitted_time = time.time()
        self.started_time: float | None = None
        self.ended_time: float | None = None
        self.process: ProcessRef | None = None
        self.dependencies: set[Job] = set()
        self.experiments: list[experiment] = []
        self.tags: Mapping[str, Any] = {}
        #: Variables set for the job process (workspace and experiment ``setenv``).
        self.environment: dict[str, str] = {}
        #: partial directories the job writes, by partial name (see xpm_core.config.partial_lock)
        self.partials: dict[str, Path] = {}
        #: Set when its driver leaves before starting it: it must not start any more.
        self.detached = False
        self._finished = threading.Event()
        #: Called once when the job ends done (``when_done``), from the scheduler's loop: they must not block.
        self._done_listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Job({self.task_id}/{self.identifier}, {self.state})"

    # ---- files ---------------------------------------------------------------------------

    def file(self, suffix: str) -> Path:
        """``NAME.<suffix>`` in the job folder (``done``, ``failed``, ``pid``, ``out`` ...)."""
        return self.path / f"{self.name}.{suffix}"

    @property
    def jobpath(self) -> Path:
        """The job folder (experimaestro's name)."""
        return self.path

    @property
    def environ(self) -> dict[str, str]:
        """The job's environment variables (experimaestro's name for :attr:`environment`)."""
        return self.environment

    @property
    def stdout(self) -> Path:
        return self.file("out")

    @property
    def stderr(self) -> Path:
        return self.file("err")

    @property
    def resumable(self) -> bool:
        from xpm_core.config.objects import ResumableTask

        return isinstance(self.config, ResumableTask)

    # ---- state ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def mark_finished(self) -> None:
        self._finished.set()
        if self.state is JobState.DONE:
            with self._listeners_lock:
                listeners, self._done_listeners = self._done_listeners, []
            for listener in listeners:
                listener()

    def when_done(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` once when the job has ended done: now if it has, else when it does.

        A job that ends in error keeps its listeners: resubmitted, it may end done later.
        """
        with self._listeners_lock:
            if not (self.finished and self.state is JobState.DONE):
                self._done_listeners.append(listener)
                return
        listener()

    def reset_finished(self) -> None:
        self._finished.clear()

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the job has ended or ``timeout`` seconds passed; whether it has ended."""
        return self._finished.wait(timeout)

    def wait(self) -> JobState:
        """Block until the job has ended (done or error); returns its state."""
        self._finished.wait()
        return self.state


def dependencies_of(task: ConfigMixin) -> set[Job]:
    """Jobs whose outputs ``task`` uses: submitted tasks (or their outputs) found in its parameters."""
    from xpm_core.config.walk import postorder

    found: set[Job] = set()
    for config, _ in postorder(task, recurse_task=False):
        info = config.__xpm__
        producers = [config, info.task]
        if info.is_dynamic_task:
            # A dynamic output (watch_output) exists once registered: it does not wait for its task.
            producers.pop()
        for producer in producers:
            job = getattr(getattr(producer, "__xpm__", None), "job", None)
            if isinstance(job, Job) and producer is not task:
                found.add(job)
    for extra in task.__xpm__.dependencies:
        job = getattr(getattr(extra, "__xpm__", None), "job", None)
        if isinstance(job, Job):
            found.add(job)
    return found


def adopt_listener_dependencies(job: Job) -> None:
    """Move what launcher listeners added to ``job.dependencies`` (experimaestro style: token
    dependencies, tasks) to where xpm reads them: the task's explicit dependencies."""
    extra = [dependency for dependency in job.dependencies if not isinstance(dependency, Job)]
    if not extra:
        return
    job.dependencies = {dependency for dependency in job.dependencies if isinstance(dependency, Job)}
    job.config.__xpm__.add_dependencies(*extra)
    job.dependencies |= dependencies_of(job.config)
