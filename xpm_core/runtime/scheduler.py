"""The scheduler: an asyncio loop in a thread that runs every submitted job once, in dependency order.

For each job it checks the markers (a done job never runs again), re-attaches to a process
recorded in ``NAME.pid``, waits for dependencies and for a slot of its launcher, starts it under
the job lock, follows it with batched polling, and reads the outcome from the markers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Callable, ClassVar

from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.launcher import Launcher, ProcessRef, ProcessState, ProcessStatus
from xpm_core.runtime import index_updates, plugin_events
from xpm_core.runtime.job import Job, TransientMode
from xpm_core.runtime.job_folder import write_job_folder
from xpm_core.runtime.notifier import shared as shared_notifier
from xpm_core.runtime.prepare import prepares_of, run_prepare
from xpm_core.runtime.tokens import TokenDependency, token_dependencies

logger = logging.getLogger("xpm.scheduler")

#: Seconds between two attempts at a job lock held by another process.
LOCK_RETRY_SECONDS = 0.2
#: Seconds between two attempts at token units held by other jobs.
TOKEN_RETRY_SECONDS = 0.5


class Poller:
    """Follows the jobs of one launcher with one ``poll`` call per interval for all of them."""

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self._watched: dict[str, tuple[ProcessRef, asyncio.Future[ProcessState], Callable]] = {}
        self._task: asyncio.Task[None] | None = None

    async def follow(self, ref: ProcessRef, on_state: Callable[[ProcessState], None]) -> ProcessState:
        """Wait until the job of ``ref`` has finished; ``on_state`` sees every other answer."""
        future: asyncio.Future[ProcessState] = asyncio.get_running_loop().create_future()
        self._watched[ref.id] = (ref, future, on_state)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        while self._watched:
            refs = [ref for ref, _, _ in self._watched.values()]
            try:
                states = await self.launcher.poll(refs)
            except Exception as exc:  # a batch system hiccup: the jobs are unknown, not failed
                logger.warning("polling %r failed (%s); trying again", self.launcher, exc)
                states = {}
            for ref_id, state in states.items():
                entry = self._watched.get(ref_id)
                if entry is None:
                    continue
                _, future, on_state = entry
                if state.status is ProcessStatus.FINISHED:
                    del self._watched[ref_id]
                    if not future.done():
                        future.set_result(state)
                else:
                    on_state(state)
            if self._watched:
                await asyncio.sleep(self.launcher.poll_interval)


class Scheduler:
    """One per driver process, shared by all its experiments (a job is run once per workspace)."""

    _instance: ClassVar[Scheduler | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def instance(cls) -> Scheduler:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.jobs: dict[str, Job] = {}
        #: Event hooks (monitors) and index updates: away from the loop.
        self.hooks = shared_notifier("hooks")
        self.records = shared_notifier("records")
        self._pollers: dict[tuple, Poller] = {}
        self._slots: dict[tuple, asyncio.Semaphore] = {}
        self._ended: dict[str, asyncio.Event] = {}
        # Set when a job must run: at once, or for a transient job, when a dependent needs it.
        self._needed: dict[str, asyncio.Event] = {}
        self._prepared: dict[str, asyncio.Future[None]] = {}
        thread = threading.Thread(target=self.loop.run_forever, name="xpm-scheduler", daemon=True)
        thread.start()

    # ---- called from the user's thread ---------------------------------------------------

    def submit(self, job: Job) -> Job:
        """Schedule ``job``; returns the job actually scheduled (an earlier one with the same id)."""
        return asyncio.run_coroutine_threadsafe(self._register(job), self.loop).result()

    def detach(self, jobs: list[Job]) -> None:
        """The driver leaves (Ctrl-C, SIGTERM): ``jobs`` not started yet never will be (unscheduled);
        those with a process keep running and are followed by the next run."""
        async def detach() -> None:
            for job in jobs:
                job.detached = True
                if job.state in (JobState.UNSCHEDULED, JobState.WAITING, JobState.READY):
                    self.set_state(job, JobState.UNSCHEDULED)

        with contextlib.suppress(Exception):  # a loop already stopped: nothing will start anyway
            asyncio.run_coroutine_threadsafe(detach(), self.loop).result(timeout=5)

    # ---- the loop ------------------------------------------------------------------------

    async def _register(self, job: Job) -> Job:
        existing = self.jobs.get(job.identifier)
        if existing is not None:
            existing.max_retries = max(existing.max_retries, job.max_retries)
            existing.transient = min(existing.transient, job.transient)  # the least transient wins
            if existing.transient is TransientMode.NONE:
                self._needed[existing.identifier].set()
            if existing.finished and existing.state in (JobState.ERROR, JobState.UNSCHEDULED):
                existing.detached = False
                self._start(existing)  # resubmitting a failed (or dropped) job runs it again
            return existing
        self.jobs[job.identifier] = job
        self._needed[job.identifier] = asyncio.Event()
        if job.transient is TransientMode.NONE:
            self._needed[job.identifier].set()
        self._start(job)
        return job

    def _start(self, job: Job) -> None:
        job.reset_finished()
        self._ended[job.identifier] = asyncio.Event()
        self.set_state(job, JobState.WAITING)
        asyncio.ensure_future(self._lifecycle(job))

    def set_state(self, job: Job, state: JobState, reason: str | None = None) -> None:
        previous = job.state
        job.state = state
        job.failure_reason = reason if state is JobState.ERROR else None
        if previous is state:
            return
        self.records.post(
            index_updates.job_state,
            job.workspace,
            job.identifier,
            state,
            failure_reason=job.failure_reason,
            started=job.started_time,
            ended=job.ended_time if state.finished else None,
            exit_code=job.exit_code,
            retry_count=job.retry_count,
        )
        self.hooks.post(plugin_events.job_state_changed, job, previous, state)

    async def _lifecycle(self, job: Job) -> None:
        try:
            await self._process(job)
        except Exception as exc:  # a bug here must not leave the job pending forever
            logger.exception("job %s could not be run", job)
            job.failure_reason = f"{type(exc).__name__}: {exc}"
            self.set_state(job, JobState.ERROR, "failed")
        finally:
            job.ended_time = job.ended_time or time.time()
            self._ended[job.identifier].set()
            job.mark_finished()

    async def _process(self, job: Job) -> None:
        from xpm_core.workspace.disk import read_final_marker

        marker = read_final_marker(job.path, job.task_id)
        if marker is not None and marker.state is JobState.DONE:
            self.set_state(job, JobState.DONE)
            return
        live = await self._live_process(job)
        if live is not None:
            restart = await self._follow(job, *live)
            await self._release_tokens(job, token_dependencies(job))
            if not restart:
                return

        if not self._needed[job.identifier].is_set():
            self.set_state(job, JobState.UNSCHEDULED)  # transient: runs only if a job needs it
            await self._needed[job.identifier].wait()
            self.set_state(job, JobState.WAITING)
        for dependency in job.dependencies:
            self._needed[dependency.identifier].set()
        for dependency in job.dependencies:
            await self._ended[dependency.identifier].wait()
            if dependency.state is not JobState.DONE:
                logger.warning("%s not run: its dependency %s ended in error", job, dependency)
                self.set_state(job, JobState.ERROR, "dependency")
                return
        if not await self._prepare(job):
            return

        tokens = token_dependencies(job)
        await self._acquire_tokens(job, tokens)
        try:
            async with self._slot(job.launcher):
                while True:
                    started = await self._launch(job)
                    if started is None:  # another driver ran it meanwhile
                        return
                    if not await self._follow(job, *started):
                        return
                    job.retry_count += 1
                    logger.info("%s timed out: restart %d of %d", job, job.retry_count, job.max_retries)
        finally:
            await self._release_tokens(job, tokens)

    async def _prepare(self, job: Job) -> bool:
        """Run the ``Prepare`` configurations the job uses (each once); ``False`` if one failed."""
        for config in prepares_of(job.config):
            key = config.__identifier__().all.hex()
            if key not in self._prepared:
                self._prepared[key] = asyncio.ensure_future(asyncio.to_thread(run_prepare, config))
            try:
                await asyncio.shield(self._prepared[key])
            except Exception as exc:
                logger.error("%s not run: preparing %s failed: %s", job, config.__xpmtype__.identifier, exc)
                self.set_state(job, JobState.ERROR, "dependency")
                return False
        return True

    async def _acquire_tokens(self, job: Job, tokens: list[TokenDependency]) -> None:
        """Take every token unit the job needs, all or none, waiting until they are free."""
        while True:
            taken = []
            for dependency in tokens:
                if not await asyncio.to_thread(dependency.token.try_acquire, job, dependency.count):
                    break
                taken.append(dependency)
            else:
                return
            await self._release_tokens(job, taken)  # never sit on some units while waiting
            await asyncio.sleep(TOKEN_RETRY_SECONDS)

    async def _release_tokens(self, job: Job, tokens: list[TokenDependency]) -> None:
        for dependency in tokens:
            await asyncio.to_thread(dependency.token.release, job)

    # ---- steps ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _slot(self, launcher: Launcher):
        """At most ``max_running`` jobs run at once through equally configured launchers."""
        if launcher.max_running is None:
            yield
            return
        key = (*_launcher_key(launcher), launcher.max_running)
        semaphore = self._slots.setdefault(key, asyncio.Semaphore(launcher.max_running))
        async with semaphore:
            yield

    def _read_process(self, job: Job) -> ProcessRef | None:
        try:
            return ProcessRef.from_json(json.loads(job.file("pid").read_text()))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            logger.warning("ignoring unreadable %s: %s", job.file("pid"), exc)
            return None

    async def _live_process(self, job: Job) -> tuple[Launcher, ProcessRef] | None:
        """The process of ``NAME.pid`` if it is still queued or running (started by any driver)."""
        ref = self._read_process(job)
        if ref is None:
            return None
        from xpm_core.plugin.registry import get_registry

        try:
            launcher = job.launcher
            if (ref.launcher, dict(ref.connector).get("name")) != (launcher.name, launcher.connector.name):
                launcher_type = get_registry().launchers()[ref.launcher].load()
                launcher = launcher_type.for_process(ref, get_registry())
            state = (await launcher.poll([ref])).get(ref.id)
        except Exception as exc:
            logger.warning("cannot follow the process of %s (%s): starting it again", job, exc)
            return None
        if state is None or state.status is ProcessStatus.FINISHED:
            return None
        logger.info("%s is already running (%s %s): following it", job, ref.launcher, ref.id)
        return launcher, ref

    async def _lock(self, job: Job) -> contextlib.ExitStack:
        """Take ``NAME.lock`` without blocking the loop; the returned stack releases it."""
        connector = job.launcher.connector
        stack = contextlib.ExitStack()
        while True:
            try:
                await asyncio.to_thread(stack.enter_context, connector.lock(job.file("lock"), timeout=0))
                return stack
            except TimeoutError:
                await asyncio.sleep(LOCK_RETRY_SECONDS)

    async def _launch(self, job: Job) -> tuple[Launcher, ProcessRef] | None:
        """Under the job lock: check again, write the job folder, submit, record ``NAME.pid``.

        Returns what to follow: the new process, or one another driver started meanwhile
        (``None`` when the job turned out to be done). The lock is released before following:
        the job process itself holds it while it runs.
        """
        from xpm_core.workspace.disk import read_final_marker

        connector = job.launcher.connector
        await asyncio.to_thread(connector.mkdir, job.path)
        with await self._lock(job):
            if job.detached:  # its driver is leaving: never start a job nobody will follow
                self.set_state(job, JobState.UNSCHEDULED)
                return None
            marker = read_final_marker(job.path, job.task_id)
            if marker is not None and marker.state is JobState.DONE:
                self.set_state(job, JobState.DONE)
                return None
            live = await self._live_process(job)
            if live is not None:
                return live
            launch = await asyncio.to_thread(write_job_folder, job)
            ref = await job.launcher.submit(launch)
            job.started_time = time.time()
            await asyncio.to_thread(connector.write_text, job.file("pid"), json.dumps(ref.to_json()))
            self.set_state(job, JobState.SCHEDULED)
        return job.launcher, ref

    async def _follow(self, job: Job, launcher: Launcher, ref: ProcessRef) -> bool:
        """Follow the job's process to its end; ``True`` when the job must be started again."""

        def on_state(state: ProcessState) -> None:
            if state.status is ProcessStatus.RUNNING:
                self.set_state(job, JobState.RUNNING)

        job.process = ref
        key = _launcher_key(launcher)
        poller = self._pollers.setdefault(key, Poller(launcher))
        process = await poller.follow(ref, on_state)
        await asyncio.to_thread(self._record_lost_end, job, ref, process)
        return self._conclude(job, process)

    def _record_lost_end(self, job: Job, ref: ProcessRef, process: ProcessState) -> None:
        """A process that ended without its marker (killed, out of memory): write ``NAME.failed``
        with what the launcher knows, so that every reader sees the same end (docs/workspace.md)."""
        from xpm_core.workspace.disk import read_final_marker
        from xpm_core.workspace.reconcile import failure_record

        if read_final_marker(job.path, job.task_id) is not None:
            return
        record = failure_record(process.exit_code, process.failure, ref.id)
        record["ended_time"] = time.time()
        try:
            job.launcher.connector.write_text(job.file("failed"), json.dumps(record))
        except Exception as exc:  # the state is still set from what the launcher said
            logger.warning("could not write %s: %s", job.file("failed"), exc)

    def _conclude(self, job: Job, process: ProcessState) -> bool:
        """Set the final state from the markers; ``True`` when the job must be started again."""
        from xpm_core.workspace.disk import read_final_marker

        job.exit_code = process.exit_code
        job.ended_time = time.time()
        marker = read_final_marker(job.path, job.task_id)
        if marker is not None:
            state, reason = marker.state, marker.failure_reason
            if reason == "cancelled" and process.failure == "timeout":
                reason = "timeout"  # the batch system's SIGTERM at the time limit, not a user's
        elif process.failure is not None:
            state, reason = JobState.ERROR, process.failure
        elif process.exit_code == 0:
            # Ended cleanly without writing its marker: it did not run its task to the end.
            state, reason = JobState.ERROR, "missing_outputs"
        else:
            state, reason = JobState.ERROR, "failed"
        if state is JobState.ERROR and reason == "timeout" and job.resumable:
            if job.retry_count < job.max_retries:
                return True
        self.set_state(job, state, reason)
        return False



def _launcher_key(launcher: Launcher) -> tuple:
    """Launchers of one type on one connector share their polling (and, equally capped, slots)."""
    return (launcher.name, launcher.connector.name, json.dumps(launcher.connector.to_spec(), sort_keys=True))
