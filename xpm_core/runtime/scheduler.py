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
from typing import TYPE_CHECKING, Awaitable, Callable, ClassVar, Sequence, Tuple

from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.launcher import Launcher, ProcessRef, ProcessState, ProcessStatus, poll_reads_files
from xpm_core.runtime import index_updates, job_markers, plugin_events
from xpm_core.runtime.job import Job, TransientMode
from xpm_core.runtime.job_folder import write_job_folder
from xpm_core.runtime.notifier import shared as shared_notifier
from xpm_core.runtime.prepare import prepares_of, run_prepare
from xpm_core.runtime.tokens import TokenDependency, token_dependencies

if TYPE_CHECKING:
    from xpm_core.runtime.listeners import Listener
    from xpm_core.workspace.disk import FinalMarker

logger = logging.getLogger("xpm.scheduler")

#: Seconds between two attempts at a job lock held by another process.
LOCK_RETRY_SECONDS = 0.2
#: Seconds between two attempts at token units held by other jobs.
TOKEN_RETRY_SECONDS = 0.5
#: Seconds between two attempts at reading a remote job's markers while its host is unreachable.
REMOTE_RETRY_SECONDS = 2.0

#: A finished job's last answer from its launcher, and the files read for it then (by path).
Ended = Tuple[ProcessState, "dict[str, str | None]"]


class Poller:
    """Follows the jobs of one launcher with one ``poll`` call per interval for all of them."""

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self._watched: dict[str, tuple[ProcessRef, asyncio.Future[Ended], Callable, tuple[str, ...]]] = {}
        self._task: asyncio.Task[None] | None = None
        #: Whether the launcher's poll reads the files of the jobs it sees ended in its own query.
        self._poll_reads_files = poll_reads_files(launcher)
        #: Set (from any thread) when the launcher reports that a process ended: the next poll
        #: then comes at once rather than after the interval (``None`` until the poller runs).
        self._wake: asyncio.Event | None = None

    def _listen_for_ends(self) -> None:
        """Subscribe, once, to the launcher's end reports when it has them (the direct launcher's
        fork server): a job's slot goes to the next job as soon as it ends."""
        if self._wake is not None:
            return
        wake = self._wake = asyncio.Event()
        subscribe = getattr(self.launcher, "on_process_end", None)
        if subscribe is not None:
            loop = asyncio.get_running_loop()
            subscribe(lambda: loop.call_soon_threadsafe(wake.set))

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the launcher reports that a process ended meanwhile."""
        assert self._wake is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def follow(
        self, ref: ProcessRef, on_state: Callable[[ProcessState], None], files: Sequence[str] = ()
    ) -> Ended:
        """Wait until the job of ``ref`` has finished; ``on_state`` sees every other answer.

        ``files`` (a remote job's markers) are read when the job is seen finished: by the
        launcher's poll itself when it can (the direct launcher over SSH: one remote command
        for the states and the files), else through the launcher's connector together with
        those of the other jobs that ended in that interval.
        """
        future: asyncio.Future[Ended] = asyncio.get_running_loop().create_future()
        self._watched[ref.id] = (ref, future, on_state, tuple(files))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        self._listen_for_ends()
        assert self._wake is not None
        while self._watched:
            self._wake.clear()  # an end reported from now on is seen by the next poll at the latest
            try:
                states = await self._poll()
            except Exception as exc:  # a batch system hiccup: the jobs are unknown, not failed
                logger.warning("polling %r failed (%s); trying again", self.launcher, exc)
                states = {}
            unread = await self._read_ended_files(states)
            for ref_id, state in states.items():
                entry = self._watched.get(ref_id)
                if entry is None:
                    continue
                _, future, on_state, wanted = entry
                if state.status is ProcessStatus.FINISHED:
                    files = self._files_of(state, wanted, unread)
                    if files is None:
                        continue  # its markers could not be read: ask again at the next interval
                    del self._watched[ref_id]
                    if not future.done():
                        future.set_result((state, files))
                else:
                    on_state(state)
            if self._watched:
                await self._sleep(Scheduler.polling_interval or self.launcher.poll_interval)

    async def _poll(self) -> dict[str, ProcessState]:
        """The launcher's answer for every watched job, asking it for their files if it can."""
        refs = [ref for ref, _, _, _ in self._watched.values()]
        files = {ref.id: wanted for ref, _, _, wanted in self._watched.values() if wanted}
        if files and self._poll_reads_files:
            poll: Callable[..., Awaitable[dict[str, ProcessState]]] = self.launcher.poll
            return await poll(refs, files=files)
        return await self.launcher.poll(refs)

    async def _read_ended_files(self, states: dict[str, ProcessState]) -> dict[str, str | None] | None:
        """The files of the jobs ``states`` says ended that the poll did not read, with one
        connector call for all (``None`` when the host could not be read: those jobs are
        unknown, not failed)."""
        wanted = [
            path
            for ref_id, state in states.items()
            if state.status is ProcessStatus.FINISHED and ref_id in self._watched
            for path in self._watched[ref_id][3]
            if state.files is None or path not in state.files
        ]
        if not wanted:
            return {}
        try:
            return await asyncio.to_thread(self.launcher.connector.read_files, wanted)
        except Exception as exc:
            logger.warning("reading the markers of ended jobs through %r failed (%s); trying again", self.launcher, exc)
            return None

    @staticmethod
    def _files_of(
        state: ProcessState, wanted: Sequence[str], unread: dict[str, str | None] | None
    ) -> dict[str, str | None] | None:
        """The ``wanted`` files of a finished job, from its poll's answer or the connector's read
        (``None`` when some could not be read)."""
        read = state.files or {}
        if unread is None and any(path not in read for path in wanted):
            return None
        return {path: read[path] if path in read else (unread or {}).get(path) for path in wanted}


class Scheduler:
    """One per driver process, shared by all its experiments (a job is run once per workspace)."""

    _instance: ClassVar[Scheduler | None] = None
    #: Seconds between two looks at the jobs of a launcher, for every launcher (``run-experiment
    #: --polling-interval``); None: each launcher's own ``poll_interval``.
    polling_interval: ClassVar[float | None] = None
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

    def addlistener(self, listener: Listener) -> None:
        """experimaestro's listeners: told of every job's submission and state changes (hooks thread)."""
        from xpm_core.runtime import listeners

        listeners.add(listener)

    def removelistener(self, listener: Listener) -> None:
        from xpm_core.runtime import listeners

        listeners.remove(listener)

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
        if state is JobState.RUNNING or state.finished:  # what ran when, for the driver's log
            reason = f" ({job.failure_reason})" if state is JobState.ERROR else ""
            logger.info("job %s/%s: %s%s", job.task_id, job.identifier, state.name, reason)
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
            if job.detached:
                # The driver is leaving (Ctrl-C, GracefulExperimentExit) and shutting its threads
                # down under the job: it stays as detach() left it, followed by the next run.
                logger.debug("job %s left as the driver exits (%s)", job, exc)
                return
            logger.exception("job %s could not be run", job)
            job.failure_reason = f"{type(exc).__name__}: {exc}"
            self.set_state(job, JobState.ERROR, "failed")
        finally:
            job.ended_time = job.ended_time or time.time()
            self._ended[job.identifier].set()
            job.mark_finished()

    async def _process(self, job: Job) -> None:
        markers = await self._read_markers(job)
        if markers.done:
            self.set_state(job, JobState.DONE)
            return
        retrying = False  # whether the next start restarts a timed-out attempt
        live = await self._live_process(job, markers.process)
        if live is not None:
            restart = await self._follow(job, *live)
            await self._release_tokens(job, token_dependencies(job))
            if not restart:
                return
            retrying = True

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

        await self._resolve_launcher(job)
        tokens = token_dependencies(job)
        await self._acquire_tokens(job, tokens)
        try:
            async with self._slot(job.launcher):
                while True:
                    if not await self._count_retry(job, retrying):
                        return
                    started = await self._launch(job)
                    if started is None:  # another driver ran it meanwhile
                        return
                    if not await self._follow(job, *started):
                        return
                    retrying = True
        finally:
            await self._release_tokens(job, tokens)

    async def _resolve_launcher(self, job: Job) -> None:
        """A launcher choosing per job (``DynamicLauncher``) gives the one that starts it, now."""
        if type(job.launcher).resolve is Launcher.resolve:
            return  # the common case: no thread hop per job
        # In a thread: DynamicLauncher.update() may ask a batch system, and listeners are user code.
        chosen = await asyncio.to_thread(job.launcher.resolve, job)
        if chosen is job.launcher:
            return
        logger.info("%s: %r chose %r", job, job.launcher, chosen)
        job.launcher = chosen
        job.environment = {**job.environment, **chosen.environ}

    async def _count_retry(self, job: Job, retrying: bool) -> bool:
        """Before starting a resumable job: if its last attempt timed out (seen by this driver, or
        by its markers after an earlier driver), count the retry on disk; ``False`` when none is left."""
        if not job.resumable:
            return True
        from xpm_core.runtime.retry_count import read_retry_count, write_retry_count

        connector = job.launcher.connector
        job.retry_count = max(job.retry_count, await asyncio.to_thread(read_retry_count, connector, job.path))
        if not retrying:
            marker = (await self._read_markers(job)).final
            retrying = marker is not None and marker.failure_reason == "timeout"
        if not retrying:
            return True
        if job.retry_count >= job.max_retries:
            logger.warning("%s timed out and has no retry left (%d of max_retries=%d): not restarted",
                           job, job.retry_count, job.max_retries)
            self.set_state(job, JobState.ERROR, "timeout")
            return False
        job.retry_count += 1
        await asyncio.to_thread(write_retry_count, connector, job.path, job.retry_count)
        logger.info("%s timed out: restart %d of %d", job, job.retry_count, job.max_retries)
        return True

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

    async def _read_markers(self, job: Job) -> job_markers.JobMarkers:
        """The job's markers: from the disk at once, or through its remote connector off the loop."""
        if not job_markers.is_remote(job):
            return job_markers.read(job)
        while True:
            try:
                return await asyncio.to_thread(job_markers.read, job)
            except ConnectionError as exc:  # the host cannot be reached now: wait, it has not failed
                logger.warning("cannot read the markers of %s (%s); trying again", job, exc)
                await asyncio.sleep(REMOTE_RETRY_SECONDS)

    async def _live_process(self, job: Job, ref: ProcessRef | None) -> tuple[Launcher, ProcessRef] | None:
        """The process ``ref`` of ``NAME.pid`` if it is still queued or running (started by any driver)."""
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
        connector = job.launcher.connector
        await asyncio.to_thread(connector.mkdir, job.path)
        with await self._lock(job):
            if job.detached:  # its driver is leaving: never start a job nobody will follow
                self.set_state(job, JobState.UNSCHEDULED)
                return None
            markers = await self._read_markers(job)
            if markers.done:
                self.set_state(job, JobState.DONE)
                return None
            live = await self._live_process(job, markers.process)
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
                if logger.isEnabledFor(logging.DEBUG):
                    _log_progress(job)

        job.process = ref
        key = _launcher_key(launcher)
        poller = self._pollers.setdefault(key, Poller(launcher))
        # A remote job's markers come with the poll that saw it end (one read for all that ended).
        remote = job_markers.is_remote(job)
        process, files = await poller.follow(ref, on_state, job_markers.paths(job) if remote else ())
        marker = await asyncio.to_thread(self._record_lost_end, job, ref, process, files if remote else None)
        return self._conclude(job, process, marker)

    def _record_lost_end(
        self, job: Job, ref: ProcessRef, process: ProcessState, files: dict[str, str | None] | None
    ) -> FinalMarker | None:
        """The job's final marker (from ``files`` read through a remote connector, else the disk).

        A process that ended without its marker (killed, out of memory) gets a ``NAME.failed``
        with what the launcher knows, so that every reader sees the same end (docs/workspace.md).
        """
        from xpm_core.workspace.disk import failed_marker
        from xpm_core.workspace.reconcile import failure_record

        marker = job_markers.final_marker(job, files)
        if marker is not None:
            return marker
        record = failure_record(process.exit_code, process.failure, ref.id)
        record["ended_time"] = time.time()
        text = json.dumps(record)
        try:
            job.launcher.connector.write_text(job.file("failed"), text)
        except Exception as exc:  # the state is still set from what the launcher said
            logger.warning("could not write %s: %s", job.file("failed"), exc)
            return None
        return failed_marker(text)

    def _conclude(self, job: Job, process: ProcessState, marker: FinalMarker | None) -> bool:
        """Set the final state from the job's final marker; ``True`` when the job must be started again."""
        job.exit_code = process.exit_code
        job.ended_time = time.time()
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



def _log_progress(job: Job) -> None:
    """Log the job's reported progress when it changed (debug level only: one small file read a poll)."""
    from xpm_core.runtime.progress_file import progress_text, read_progress

    text = progress_text(read_progress(job.path))
    if text and text != getattr(job, "_logged_progress", None):
        job._logged_progress = text  # type: ignore[attr-defined]
        logger.debug("%s progress: %s", job, text)


def _launcher_key(launcher: Launcher) -> tuple:
    """Launchers of one type on one connector share their polling (and, equally capped, slots)."""
    return (launcher.name, launcher.connector.name, json.dumps(launcher.connector.to_spec(), sort_keys=True))
