"""The plan's callbacks (``task.on_completed(fn)``, dynamic outputs): run on a worker thread the experiment waits for.

A callback runs in the driver, never in the scheduler's loop: it may block, submit new tasks or
fail. Each one runs once; one that raises is logged with its job's name and the run goes on. The
experiment does not end while callbacks are queued or running, nor while a finished job's
dynamic outputs are still being read (see :mod:`xpm_core.runtime.dynamic_outputs`).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin
    from xpm_core.runtime.dynamic_outputs import OutputWatcher, WatchedOutput
    from xpm_core.runtime.experiment import experiment
    from xpm_core.runtime.job import Job

logger = logging.getLogger("xpm.callbacks")

#: Seconds between two checks, while waiting, that the experiment was not stopped.
CHECK_SECONDS = 0.5

# Attributes of a task's ``__xpm__`` holding what was asked before ``submit()``.
PENDING_COMPLETED = "_xpm_on_completed"
PENDING_OUTPUTS = "_xpm_watched_outputs"


class CallbackRunner:
    """Runs callables one after the other on a thread of its own, and says when it has nothing to do."""

    def __init__(self, name: str = "xpm-callbacks") -> None:
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], str] | None] = queue.SimpleQueue()
        self._condition = threading.Condition()
        self._pending = 0
        #: How many callables were ever posted: a waiter compares it to see whether work arrived.
        self.posted = 0
        self._thread: threading.Thread | None = None

    def post(self, function: Callable[[], Any], description: str) -> None:
        """Run ``function`` after those already posted; ``description`` names it in the log if it fails."""
        with self._condition:
            self._pending += 1
            self.posted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._queue.put((function, description))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            function, description = item
            try:
                function()
            except Exception:  # the user's code: its failure must not end the driver
                logger.exception("%s failed", description)
            finally:
                with self._condition:
                    self._pending -= 1
                    self._condition.notify_all()

    def wait_idle(self, check: Callable[[], None]) -> None:
        """Block until nothing is queued or running; ``check`` is called regularly (it may raise)."""
        with self._condition:
            while self._pending:
                self._condition.wait(CHECK_SECONDS)
                check()

    def close(self) -> None:
        """Let the thread end once what is queued has run."""
        if self._thread is not None:
            self._queue.put(None)


class PlanWork:
    """What an experiment runs for its plan besides jobs: callbacks, and the dynamic outputs it follows."""

    def __init__(self) -> None:
        self.runner = CallbackRunner()
        self._lock = threading.Lock()
        self._watchers: dict[str, OutputWatcher] = {}

    def watcher(self, job: Job) -> OutputWatcher:
        """The follower of ``job``'s dynamic outputs (one per job, started on first use)."""
        from xpm_core.runtime.dynamic_outputs import OutputWatcher

        with self._lock:
            watcher = self._watchers.get(job.identifier)
            if watcher is None:
                watcher = self._watchers[job.identifier] = OutputWatcher(job, self.runner)
                watcher.start()
            return watcher

    def settle(self, check: Callable[[], None]) -> None:
        """Block until every finished job's outputs are read and no callback is queued or running.

        Passes repeat until one sees no new work: a callback may submit a job that is already done,
        whose outputs and ``on_completed`` callbacks then arrive while we wait.
        """
        while True:
            with self._lock:
                watchers = list(self._watchers.values())
            posted = self.runner.posted
            for watcher in watchers:
                if watcher.job.finished:
                    watcher.wait_caught_up(check)
            self.runner.wait_idle(check)
            with self._lock:
                unchanged = len(self._watchers) == len(watchers)
            if unchanged and posted == self.runner.posted:
                return

    def close(self) -> None:
        with self._lock:
            watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.close()
        self.runner.close()


_creating = threading.Lock()


def plan_work(xp: experiment) -> PlanWork:
    """The experiment's :class:`PlanWork`, created on first use and closed when the run ends."""
    with _creating:  # the plan and a callback may register at the same time
        if xp._plan_work is None:
            xp._plan_work = PlanWork()
            xp._stack.callback(xp._plan_work.close)
        return xp._plan_work


def _experiment_of(job: Job) -> experiment | None:
    """The running experiment that follows ``job`` in this driver (None outside a normal run)."""
    from xpm_core.runtime.experiment import RunMode, experiment

    xp = experiment._current[-1] if experiment._current else (job.experiments[-1] if job.experiments else None)
    if xp is None or xp.run_mode is not RunMode.NORMAL or xp._scheduler is None:
        return None
    return xp


def _task_of(config: ConfigMixin) -> ConfigMixin:
    """The task a configuration belongs to: itself, or the task whose output it is (``dep``)."""
    info = config.__xpm__
    if info.xpmtype.task:
        return config
    if info.task is not None:
        return info.task
    raise TypeError(
        f"{info.xpmtype.display_name} is neither a task nor the output of one: "
        "on_completed() is called on a task (or on what its submit() returned)"
    )


def on_completed(config: ConfigMixin, callback: Callable[[], Any]) -> None:
    """``task.on_completed(callback)``: call ``callback()`` once, when the task's job is done."""
    if not callable(callback):
        raise TypeError(f"on_completed() takes a function, not {callback!r}")
    task = _task_of(config)
    job = task.__xpm__.job
    if job is None:  # attached when the task is submitted
        task.__xpm__.__dict__.setdefault(PENDING_COMPLETED, []).append(callback)
        return
    _attach_completed(job, callback)


def _attach_completed(job: Any, callback: Callable[[], Any]) -> None:
    from xpm_core.runtime.job import Job

    if not isinstance(job, Job):
        return
    xp = _experiment_of(job)
    if xp is None:  # dry run, generate only: the job never runs, nothing completes
        logger.debug("on_completed callback of %s ignored: the job is not run", job)
        return
    runner = plan_work(xp).runner
    description = f"on_completed callback {getattr(callback, '__qualname__', callback)!r} of job {job.task_id}/{job.identifier}"

    def when_done() -> None:
        runner.post(callback, description)

    job.when_done(when_done)


def watch_output(task: ConfigMixin, watched: WatchedOutput) -> None:
    """Follow ``task``'s dynamic outputs for ``watched`` (now, or once the task is submitted)."""
    job = task.__xpm__.job
    if job is None:
        task.__xpm__.__dict__.setdefault(PENDING_OUTPUTS, []).append(watched)
        return
    _attach_output(job, watched)


def _attach_output(job: Any, watched: WatchedOutput) -> None:
    from xpm_core.runtime.job import Job

    if not isinstance(job, Job):
        return
    xp = _experiment_of(job)
    if xp is None:
        logger.debug("dynamic outputs of %s not followed: the job is not run", job)
        return
    plan_work(xp).watcher(job).add(watched)


def task_submitted(task: ConfigMixin, job: Any) -> None:
    """Attach the callbacks and watched outputs given before ``task.submit()``."""
    info = task.__xpm__
    for callback in info.__dict__.pop(PENDING_COMPLETED, []):
        _attach_completed(job, callback)
    for watched in info.__dict__.pop(PENDING_OUTPUTS, []):
        _attach_output(job, watched)
