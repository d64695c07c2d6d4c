"""``experiment(workdir, name)``: one run of an experimental plan, and everything it records on disk.

Within the ``with`` block, ``task.submit()`` hands tasks to the experiment; at the end of the block
it waits for its jobs. A run lives in ``experiments/<name>/<run-id>/`` (``status.json``,
``jobs.jsonl``, ``objects.jsonl``, ``environment.json``, ``jobs/<task-id>/<hash>`` links), next to
the ``current`` link; jobs live in ``jobs/<task-id>/<hash>/``, shared by every experiment.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from xpm_core.plugin.job_state import JobState
from xpm_core.runtime import index_updates, plugin_events
from xpm_core.runtime.job import Job, JobContext, TransientMode, adopt_listener_dependencies, dependencies_of

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin
    from xpm_core.config.submission import SubmitRequest
    from xpm_core.plugin.launcher import Launcher
    from xpm_core.runtime.notifier import Notifiers
    from xpm_core.runtime.scheduler import Scheduler
    from xpm_core.runtime.tokens import CounterToken
    from xpm_core.settings.settings_file import WorkspaceSettings

logger = logging.getLogger("xpm.experiment")
#: The end-of-run summary (counts, failed jobs and their logs); a front end printing its own
#: summary (``xpm run-experiment``) silences this logger.
summary_logger = logging.getLogger("xpm.experiment.summary")

#: Default number of restarts of a resumable task that timed out.
DEFAULT_MAX_RETRIES = 3
#: Seconds given, at the end of a run, to the index and to monitors to take the last events
#: (a hung monitor must not hold the driver long).
RECORDS_FLUSH_SECONDS = 30.0
#: Seconds a driver waits, silently, for the experiment lock before saying who holds it.
LOCK_PATIENCE_SECONDS = 0.2
HOOKS_FLUSH_SECONDS = 3.0


class RunMode(str, enum.Enum):
    """What submitting a task does."""

    NORMAL = "normal"  # run the jobs
    GENERATE_ONLY = "generate"  # write the job folders, run nothing
    DRY_RUN = "dry-run"  # print what would run, write nothing
    PREPARE = "prepare"  # run the preparation of Prepare configurations only

    @classmethod
    def parse(cls, value: str | RunMode) -> RunMode:
        """Accept ``RunMode`` members, their values and their names, in any case (``DRY_RUN``)."""
        if isinstance(value, RunMode):
            return value
        text = value.strip().lower().replace("_", "-")
        for mode in cls:
            if text in (mode.value, mode.name.lower().replace("_", "-")):
                return mode
        names = ", ".join(mode.name for mode in cls)
        raise ValueError(f"unknown run mode {value!r}; expected one of: {names}")


def _settings_defaults(workdir: Any) -> tuple[dict[str, str], int]:
    """Job environment and max_retries from settings.yaml, if there is one (else nothing)."""
    from xpm_core.settings.directory import settings_path

    env: dict[str, str] = {}
    if settings_path().exists():  # parsing YAML costs: only when there is a file
        from xpm_core.settings.settings_file import load_settings

        env.update(load_settings().env)
    env.update(getattr(workdir, "env", {}))
    return env, getattr(workdir, "max_retries", DEFAULT_MAX_RETRIES)


def _run_id(experiment_dir: Path) -> str:
    """A fresh ``YYYYmmdd_HHMMSS[.N]`` under ``experiment_dir``, after every run of the same second.

    After every one, not only unused: a run pruned by the history (or deleted) in the same second
    must not have its id given to a new run, which monitors and the index would take for it.
    """
    base = time.strftime("%Y%m%d_%H%M%S")
    try:
        names = os.listdir(experiment_dir)
    except FileNotFoundError:
        names = []
    counters = [-1]
    for name in names:
        if name == base:
            counters.append(0)
        elif name.startswith(base + ".") and name[len(base) + 1:].isdigit():
            counters.append(int(name[len(base) + 1:]))
    last = max(counters)
    return base if last < 0 else f"{base}.{last + 1}"


def _write_json(path: Path, content: Any) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(content, indent=2, default=str))
    os.replace(temporary, path)


def _link(target: Path | str, link: Path) -> None:
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


class experiment:  # noqa: N801 - experimaestro's name, used as a context manager
    """A run of an experimental plan: ``with experiment(workdir, "name") as xp: task.submit()``."""

    _current: ClassVar[list[experiment]] = []

    def __init__(
        self,
        workdir: str | Path | WorkspaceSettings,
        name: str,
        *,
        run_mode: RunMode | str | None = None,
        launcher: Launcher | None = None,
        max_retries: int | None = None,
        env: dict[str, str] | None = None,
        register_signals: bool = True,
        project_paths: list[str | Path] | None = None,
        dirty_git: Any = "warn",
        no_environmental_impact: bool = False,
        no_db: bool = False,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        wait_for_quit: bool = False,
        **unknown: Any,
    ) -> None:
        """
        :param workdir: the workspace: a path, or a workspace of settings.yaml (its ``env`` and
            ``max_retries`` then apply).
        :param env: variables set for every job (after settings.yaml's global and workspace ones).
        :param register_signals: end the run on SIGTERM/SIGHUP as on Ctrl-C (False in a thread).
        :param project_paths: where the plan's code is, for ``dirty_git`` and environment.json
            (default: the folder of the calling file).
        :param dirty_git: ``"ignore"``, ``"warn"`` or ``"error"`` (DirtyGitError) when that code has
            uncommitted changes (a ``DirtyGitAction`` works too).
        :param no_environmental_impact: accepted for experimaestro; xpm does no carbon tracking.
        :param no_db: accepted for experimaestro; does nothing.
        :param port: deprecated: opens the web monitor on this port (needs xpm-web); ``host``,
            ``token`` and ``wait_for_quit`` (keep it up after the run until Ctrl-C) go with it.
        """
        from xpm_core.names import check_name
        from xpm_core.runtime.experiment_keywords import ExperimentKeywords

        self.keywords = ExperimentKeywords.given(
            unknown,
            lambda: [name for name in inspect.signature(experiment.__init__).parameters if name not in ("self", "unknown")],
            register_signals=register_signals, project_paths=project_paths, dirty_git=dirty_git,
            no_environmental_impact=no_environmental_impact, no_db=no_db, host=host, port=port, token=token,
            wait_for_quit=wait_for_quit,
        )
        check_name(name, "experiment id")  # before anything is written: it becomes a folder
        settings_env, settings_retries = _settings_defaults(workdir)
        path = getattr(workdir, "path", workdir)  # WorkspaceSettings or a path
        self.workspace = Path(path).expanduser().absolute()
        self.name = name
        self.run_mode = RunMode.parse(run_mode or RunMode.NORMAL)
        self.launcher = launcher or getattr(workdir, "launcher", None)  # a Workspace's own launcher
        self.max_retries = max_retries if max_retries is not None else settings_retries
        self.env: dict[str, str] = {**settings_env, **(env or {})}
        self.jobs: dict[str, Job] = {}
        self.services: dict[str, Any] = {}  # id -> Service (xp.add_service)
        self.actions: dict[str, Any] = {}  # id -> Action (xp.add_action, add_action in __submit__)
        self.run_id = "dry-run" if self.run_mode is not RunMode.NORMAL else ""
        # Notifiers until the first task starts the scheduler (a run without tasks starts none).
        self._scheduler: Scheduler | Notifiers | None = None
        self._stack = contextlib.ExitStack()
        self._stopped = threading.Event()
        self._objects: Any = None
        self._jobs_file: Any = None
        self._signal: str | None = None  # SIGTERM / SIGHUP, when one ended the run
        self._plan_work: Any = None  # callbacks and dynamic outputs (xpm_core.runtime.callbacks)
        self.started_at = time.time()
        from xpm_core.runtime import workspace_locks

        self.lock_mode = workspace_locks.register(self.workspace, workdir)

    # ---- paths ---------------------------------------------------------------------------

    @property
    def experiment_dir(self) -> Path:
        return self.workspace / "experiments" / self.name

    @property
    def run_dir(self) -> Path:
        """This run's records: ``experiments/<name>/<run-id>``."""
        return self.experiment_dir / self.run_id

    @property
    def workdir(self) -> Path:
        """The run directory (experimaestro's name)."""
        return self.run_dir

    @property
    def id(self) -> str:
        return self.name

    @property
    def resultspath(self) -> Path:
        """A folder for the plan's own results: ``<run dir>/results``."""
        if self.run_mode is not RunMode.NORMAL:
            raise RuntimeError(f"there is no results folder in {self.run_mode.name} mode")
        path = self.run_dir / "results"
        path.mkdir(exist_ok=True)
        return path

    @property
    def jobspath(self) -> Path:
        return self.run_dir / "jobs"

    @property
    def scheduler(self) -> Scheduler:
        """The driver's scheduler (``xp.scheduler.addlistener(listener)``, as in experimaestro)."""
        from xpm_core.runtime.scheduler import Scheduler

        return Scheduler.instance()

    @classmethod
    def current(cls) -> experiment:
        """The innermost running experiment."""
        if not cls._current:
            raise RuntimeError("no experiment is running: use `with experiment(...)`")
        return cls._current[-1]

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable for every job submitted afterwards."""
        self.env[name] = str(value)

    # ---- entering and leaving ------------------------------------------------------------

    def __enter__(self) -> experiment:
        from xpm_core.config.submission import set_current_experiment

        if experiment._current:
            # One driver, one run: a nested run would share the scheduler and mix the records.
            raise RuntimeError(
                f"experiment {self.name!r} cannot start inside experiment {experiment._current[-1].name!r}: "
                "end the first `with experiment(...)` block before starting another"
            )

        if self.run_mode is RunMode.NORMAL:
            from xpm_core.runtime import experiment_keywords, workspace_locks

            experiment_keywords.before_run(self)
            if self.launcher is None and _has_settings_file():
                # Built now, not at the first submit: a mistake in its settings shows before
                # anything is written (without a settings file nothing can be wrong: later).
                self.launcher = _default_launcher()
            if self.launcher is not None:
                # A remote host that cannot run jobs (unreachable, key refused, no interpreter)
                # is one error now, before the run is opened and any job submitted.
                self.launcher.connector.interpreter()
            self._warm_up_launcher()
            if self.keywords.register_signals:
                self._catch_termination()
            self._open_run()
            workspace_locks.hand_to_jobs(self)
            experiment_keywords.after_open(self)
        set_current_experiment(self)
        self._stack.callback(set_current_experiment, None)
        experiment._current.append(self)
        self._stack.callback(experiment._current.remove, self)
        return self

    def _warm_up_launcher(self) -> None:
        """Start what starts jobs (the local fork server) now, while the run is opened and the
        first tasks are built: it is then ready by the time the first job folder is written."""
        from xpm_core.runtime.job_warm_up import warm_up_default_launcher, warm_up_launcher

        if self.launcher is not None:
            warm_up_launcher(self.launcher)
        else:  # no settings file: jobs go to the default launcher, direct on this machine
            warm_up_default_launcher()

    def _open_run(self) -> None:
        from xpm_core.runtime.notifier import Notifiers

        self._scheduler = Notifiers()
        self.experiment_dir.mkdir(parents=True, exist_ok=True)
        (self.workspace / ".__experimaestro__").touch()  # the workspace marker both tools look for
        self._stack.enter_context(self._experiment_lock())
        self._detach_dead_runs()
        self.run_id = _run_id(self.experiment_dir)
        self.run_dir.mkdir()
        from xpm_core.maintenance.history import settings_if_any
        from xpm_core.runtime.driver_log import driver_log

        self._stack.enter_context(driver_log(self.workspace, self.name, self.run_id, settings_if_any()))
        _link(self.run_id, self.experiment_dir / "current")
        from xpm_core.runtime.environment import environment_record

        # Listing the installed packages takes tens of milliseconds: not before the first job.
        def write_environment() -> None:
            try:
                _write_json(self.run_dir / "environment.json", environment_record(self))
            except Exception as exc:  # a record for later analysis: never fail the run for it
                logger.warning("could not write environment.json: %s", exc)

        self._environment_writer = threading.Thread(target=write_environment, name="xpm-environment")
        self._environment_writer.start()
        self._write_status("running")
        self._jobs_file = self._stack.enter_context(open(self.run_dir / "jobs.jsonl", "a"))
        # Written from the first submitted task on: a run without tasks imports no serialization.
        (self.run_dir / "objects.jsonl").touch()
        self._scheduler.records.post(
            index_updates.run_started, self.workspace, self.name, self.run_id, socket.gethostname(), self.started_at
        )
        self._scheduler.hooks.post(plugin_events.experiment_started, self)
        logger.info("experiment %s: run %s in %s", self.name, self.run_id, self.run_dir)

    def _detach_dead_runs(self) -> None:
        """Runs of this experiment left "running" by a driver that died: we hold the lock, so
        they ended; recorded "detached" (on disk now, in the index by the records thread)."""
        if not any(path.name != "current" for path in self.experiment_dir.iterdir() if path.is_dir()):
            return  # no run yet (the common case of a new experiment): nothing to read
        from xpm_core.workspace.reconcile import detach_dead_runs

        for run_id in detach_dead_runs(self.experiment_dir):
            logger.warning("experiment %s: run %s had ended without its driver recording it: detached",
                           self.name, run_id)
            assert self._scheduler is not None
            self._scheduler.records.post(index_updates.run_detached, self.workspace, self.name, run_id, time.time())

    def _catch_termination(self) -> None:
        """SIGTERM and SIGHUP (a closed terminal) end the driver as Ctrl-C does: run "detached"."""
        import signal

        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread

        def on_signal(signum: int, frame: Any) -> None:
            self._signal = signal.Signals(signum).name
            raise KeyboardInterrupt(f"received {self._signal}")

        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                previous = signal.signal(signum, on_signal)
            except (OSError, ValueError):
                continue
            self._stack.callback(signal.signal, signum, previous)

    @contextlib.contextmanager
    def _experiment_lock(self):
        """One live run per experiment: a second driver waits, saying who holds the lock."""
        from xpm_core.local_host import file_lock

        lock_path = self.experiment_dir / "lock"
        holder = self.experiment_dir / "lock.holder"
        held = contextlib.ExitStack()
        try:
            # A reader checking whether the driver is alive holds the lock for milliseconds.
            held.enter_context(file_lock(lock_path, timeout=LOCK_PATIENCE_SECONDS))
        except TimeoutError:
            who = holder.read_text().strip() if holder.exists() else "another process"
            print(f"xpm: experiment {self.name} is already running ({who}); waiting for it to end", file=sys.stderr)
            held.enter_context(file_lock(lock_path))
        with held:
            holder.write_text(f"host {socket.gethostname()}, pid {os.getpid()}\n")
            yield

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        from xpm_core.runtime.exits import GracefulExperimentExit

        interrupted: KeyboardInterrupt | None = None
        graceful = exc_type is not None and issubclass(exc_type, GracefulExperimentExit)
        try:
            if self.run_mode is RunMode.NORMAL:
                status = "failed"
                if graceful:
                    status = "detached"  # leave now; started jobs keep running
                elif exc_type is None:
                    try:
                        self.wait()
                        status = "failed" if self.failed_jobs() else "done"
                    except KeyboardInterrupt as error:
                        interrupted, status = error, "detached"
                elif issubclass(exc_type, KeyboardInterrupt):
                    status = "detached"
                if status == "detached":
                    self._detach_queued_jobs()
                    self._say_left_running("left with GracefulExperimentExit" if graceful else None)
                self._finish(status)
        finally:
            self._stack.close()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) or interrupted is not None:
            _quiet_interrupt_exit()
        if interrupted is not None:
            raise interrupted
        return graceful  # GracefulExperimentExit ends here, as in experimaestro

    def _finish(self, status: str) -> None:
        if self.services:  # those this driver runs stop with it; `xpm experiments services start` restarts them
            from xpm_core.services.registration import stop_services

            stop_services(self.services)
        self._environment_writer.join()
        self._remove_transient_folders()
        self._write_status(status, ended_at=time.time())
        assert self._scheduler is not None
        self._scheduler.records.post(
            index_updates.run_finished, self.workspace, self.name, self.run_id, status, time.time()
        )
        from xpm_core.maintenance.history import prune_after_run

        prune_after_run(self)  # old runs, as settings.yaml's history says
        self._scheduler.hooks.post(plugin_events.experiment_finished, self, status != "done")
        self._summary()
        for notifier, seconds in (
            (self._scheduler.records, RECORDS_FLUSH_SECONDS),
            (self._scheduler.hooks, HOOKS_FLUSH_SECONDS),
        ):
            if not notifier.flush(seconds):
                logger.warning("%s did not take every event within %.0f s", notifier.name, seconds)

    def _remove_transient_folders(self) -> None:
        for job in self.jobs.values():
            if job.transient is TransientMode.REMOVE and job.finished:
                import shutil

                shutil.rmtree(job.path, ignore_errors=True)
                (self.jobspath / job.task_id / job.identifier).unlink(missing_ok=True)

    # ---- submitting ----------------------------------------------------------------------

    def submit(self, task: ConfigMixin, request: SubmitRequest) -> Job:
        """Called by ``task.submit()``: seal the task for its job folder and schedule it."""
        from xpm_core.config.tags import tags

        if self._stopped.is_set():
            raise RuntimeError(f"experiment {self.name} was stopped: no more tasks can be submitted")
        if self.launcher is None and request.launcher is None:
            self.launcher = _default_launcher()  # built once: settings.yaml is read once
        launcher = request.launcher or self.launcher
        if self.run_mode is RunMode.NORMAL:
            from xpm_core.runtime.job_warm_up import warm_up_launcher

            warm_up_launcher(launcher)  # at once when ready; a launcher given to one task starts here
        max_retries = request.max_retries if request.max_retries is not None else self.max_retries
        transient = TransientMode.of(request.transient)
        job = Job(task, workspace=self.workspace, launcher=launcher, max_retries=max_retries, transient=transient)
        task.__xpm__.seal(JobContext(job))
        job.dependencies = dependencies_of(task)
        job.tags = dict(tags(task))
        job.environment = {**self.env, **launcher.environ}
        from xpm_core.config.submit_hooks import apply_submit_hooks

        apply_submit_hooks(task, job, launcher)  # SubmitHook classes may change job.environ
        launcher.onSubmit(job)  # listeners (addListener), e.g. adding token dependencies
        adopt_listener_dependencies(job)

        if self.run_mode is not RunMode.NORMAL:
            self.jobs[job.identifier] = job  # listed, never scheduled
        if self.run_mode is RunMode.DRY_RUN:
            self._print_dry_run(job)
            return job
        if self.run_mode is RunMode.GENERATE_ONLY:
            from xpm_core.runtime.job_folder import write_job_folder

            write_job_folder(job)
            return job
        if self.run_mode is RunMode.PREPARE:
            from xpm_core.runtime.prepare import prepares_of, run_prepare

            for config in prepares_of(task):
                run_prepare(config)
            return job

        from xpm_core.runtime.notifier import Notifiers

        if self._scheduler is None or isinstance(self._scheduler, Notifiers):
            from xpm_core.runtime.scheduler import Scheduler

            self._scheduler = Scheduler.instance()  # started by the run's first task
        # Recorded before scheduling, so the index knows the job when its first state arrives.
        self._scheduler.records.post(
            index_updates.job_submitted, self.workspace, self.name, self.run_id, index_updates.submission(job)
        )
        job = self._scheduler.submit(job)
        if self not in job.experiments:
            job.experiments.append(self)
        self.jobs[job.identifier] = job
        self._record_submission(job, task)
        return job

    def _record_submission(self, job: Job, task: ConfigMixin) -> None:
        link = self.jobspath / job.task_id / job.identifier
        link.parent.mkdir(parents=True, exist_ok=True)
        _link(job.path, link)
        entry = {
            "job_id": job.identifier,
            "task_id": job.task_id,
            "tags": job.tags,
            "timestamp": time.time(),
            "depends_on": sorted(dep.identifier for dep in job.dependencies),
        }
        self._jobs_file.write(json.dumps(entry, default=str) + "\n")
        self._jobs_file.flush()
        try:
            if self._objects is None:
                from xpm_core.serialization.experiment_info import ObjectsWriter

                self._objects = self._stack.enter_context(ObjectsWriter(self.run_dir / "objects.jsonl"))
            self._objects.write(task)
        except Exception as exc:  # analysis convenience only: never fail the run for it
            logger.warning("could not record %s in objects.jsonl: %s", job, exc)

    def _print_dry_run(self, job: Job) -> None:
        from xpm_core.workspace.disk import read_job

        state = read_job(job.path, job.task_id, job.identifier).state
        dependencies = ", ".join(f"{d.task_id}/{d.identifier[:12]}" for d in job.dependencies) or "none"
        print(
            f"[{state.value}] {job.task_id}/{job.identifier} "
            f"launcher={job.launcher.name} dependencies={dependencies}"
        )

    # ---- waiting -------------------------------------------------------------------------

    def _awaited_jobs(self) -> list[Job]:
        """This run's jobs that must end: the non-transient ones (their dependencies end first)."""
        # A copy first: callbacks may submit (add jobs) from their thread meanwhile.
        return [job for job in list(self.jobs.values()) if job.transient is TransientMode.NONE]

    def wait(self) -> None:
        """Block until every job submitted so far has ended (transient jobs: if they were needed),
        with the callbacks and dynamic outputs of the plan, and the jobs these submitted."""
        while True:
            for job in self._awaited_jobs():
                while not job.wait_finished(0.5):
                    self._check_stopped()
            if self._plan_work is None:
                return
            self._plan_work.settle(self._check_stopped)
            if all(job.finished for job in self._awaited_jobs()):
                return

    def _check_stopped(self) -> None:
        if self._stopped.is_set():
            raise KeyboardInterrupt(f"experiment {self.name} was stopped")

    def stop(self) -> None:
        """Stop submitting and waiting; running jobs are left running."""
        self._stopped.set()

    def token(self, name: str, count: int) -> CounterToken:
        """A counter token of ``count`` units shared by every driver of this workspace."""
        from xpm_core.names import check_name
        from xpm_core.runtime.tokens import CounterToken

        check_name(name, "token name")
        return CounterToken(name, self.workspace / ".xpm" / "tokens" / name, count)

    def save(self, obj: Any, name: str = "default") -> Path:
        """Save configurations (in any structure) under this run; ``xp.load`` reads them back."""
        from xpm_core.names import check_name
        from xpm_core.serialization.files import save

        check_name(name, "saved name")
        if self.run_mode is not RunMode.NORMAL:
            raise RuntimeError(f"nothing is saved in {self.run_mode.name} mode")
        directory = self.run_dir / "data" / name
        directory.mkdir(parents=True, exist_ok=True)
        save(obj, directory)
        return directory

    def load(self, experiment_id: str, name: str = "default", run_id: str | None = None) -> Any:
        """What ``xp.save(obj, name)`` stored in a run of ``experiment_id`` (default: its latest)."""
        from xpm_core.names import check_name
        from xpm_core.serialization.files import load

        check_name(experiment_id, "experiment id")
        check_name(name, "saved name")
        if run_id is not None:
            check_name(run_id, "run id")
        experiment_dir = self.workspace / "experiments" / experiment_id
        if run_id is None:
            runs = [p for p in experiment_dir.glob("*/data/" + name) if p.is_dir()]
            if not runs:
                raise FileNotFoundError(f"no run of experiment {experiment_id!r} saved {name!r} in {experiment_dir}")
            directory = max(runs, key=lambda p: p.stat().st_mtime)
        else:
            directory = experiment_dir / run_id / "data" / name
        return load(directory)

    def add_service(self, service: Any) -> Any:
        """Add a service (docs/services_and_actions.md); one of the same id is stopped and replaced."""
        from xpm_core.services.registration import register_service

        register_service(self, service, recorded=self.run_mode is RunMode.NORMAL)
        if self.run_mode is RunMode.NORMAL:
            self._write_status("running")  # monitors learn of it now
        from xpm_core.runtime import listeners

        listeners.service_added(service)  # experimaestro's Listener.service_add
        return service

    def add_action(self, action: Any) -> str:
        """Record an action to run later (``xpm experiments actions run``); returns its id."""
        from xpm_core.actions.records import action_id

        identifier = action_id(action)
        self.actions[identifier] = action
        if self.run_mode is RunMode.NORMAL:
            self._objects.write(action)
            self._write_status("running")
        return identifier

    def failed_jobs(self) -> list[Job]:
        """Jobs of this run that ended in error."""
        return [job for job in self.jobs.values() if job.state is JobState.ERROR]

    def _detach_queued_jobs(self) -> None:
        """Jobs still in this driver's queue will never start: unscheduled, not waiting forever."""
        assert self._scheduler is not None
        self._scheduler.detach([job for job in self.jobs.values() if not job.finished])

    def _say_left_running(self, cause: str | None = None) -> None:
        # Only jobs with a process keep running without the driver; queued ones never start.
        running = [job for job in self.jobs.values() if job.state in (JobState.SCHEDULED, JobState.RUNNING)]
        queued = [job for job in self.jobs.values() if job.state is JobState.UNSCHEDULED]
        cause = cause or (f"received {self._signal}" if self._signal else "interrupted")
        kept = f"{len(running)} job(s) keep running" if running else "no job keeps running"
        not_started = f", {len(queued)} queued job(s) not started" if queued else ""
        print(
            f"xpm: {cause}; {kept}{not_started}. Run the experiment again to follow them: "
            "finished jobs are not run again.",
            file=sys.stderr,
        )

    def _summary(self) -> None:
        counts: dict[str, int] = {}
        for job in self.jobs.values():
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        summary_logger.info("experiment %s: %s", self.name, ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for job in self.failed_jobs():
            summary_logger.error(
                "failed (%s): %s/%s, see %s", job.failure_reason, job.task_id, job.identifier, job.stderr
            )

    # ---- records -------------------------------------------------------------------------

    def _write_status(self, status: str, **extra: Any) -> None:
        from xpm_core.maintenance.history import run_tags_of

        extra.setdefault("run_tags", run_tags_of(self.run_dir))  # tags put by `xpm experiments tag`
        _write_json(
            self.run_dir / "status.json",
            {
                "version": 1,
                "experiment_id": self.name,
                "run_id": self.run_id,
                "status": status,
                "hostname": socket.gethostname(),
                "started_at": self.started_at,
                "job_states": {job.identifier: job.state.value for job in self.jobs.values()},
                **_services_and_actions(self.services, self.actions),
                **extra,
            },
        )


def _services_and_actions(services: dict[str, Any], actions: dict[str, Any]) -> dict[str, Any]:
    """The ``services`` and ``actions`` of status.json (their modules are imported only when used)."""
    if not services and not actions:
        return {"services": {}, "actions": {}}
    from xpm_core.actions.records import actions_record
    from xpm_core.services.registration import services_record

    return {"services": services_record(services), "actions": actions_record(actions)}


def _quiet_interrupt_exit() -> None:
    """After the interruption message, an uncaught KeyboardInterrupt ends the script without a
    traceback (the message said what happened); any other uncaught error still shows one."""
    previous = sys.excepthook
    if getattr(previous, "_xpm_quiet_interrupt", False):
        return

    def hook(exc_type: Any, exc: Any, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            return
        previous(exc_type, exc, tb)

    hook._xpm_quiet_interrupt = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _has_settings_file() -> bool:
    from xpm_core.settings.directory import settings_path

    return settings_path().exists()


def _default_launcher() -> Launcher:
    from xpm_core.settings.launchers import configured_launcher

    return configured_launcher("direct")
