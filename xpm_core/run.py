"""The job process: rebuild a task from its ``params.json``, execute it, and leave the marker files.

Generated ``NAME.py`` scripts call :func:`run_job`; ``python -m xpm_core.run JOBDIR`` does the same.
The job holds ``NAME.lock`` while it runs, so a second driver never starts it twice; it writes
``NAME.failed`` (JSON, with the reason) on failure, and ``NAME.done`` atomically and last on success.

In a multi-process job (``SLURM_PROCID``, ``RANK`` or ``LOCAL_RANK`` above 0, see
``xpm_core.runtime.rank``) only rank 0 does all this; the other processes just run the task.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from xpm_core.lock_permissions import open_lock_file
from xpm_core.runtime.errors import GracefulTimeout, TaskCancelled

logger = logging.getLogger("xpm.job")

#: Environment variable naming (``module:function``) what ``ResumableTask.remaining_time()`` calls.
REMAINING_TIME_ENV = "XPM_REMAINING_TIME"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class JobRunner:
    """Runs the task of one job directory once, recording the outcome in marker files."""

    def __init__(self, job_dir: Path, name: str) -> None:
        self.job_dir = job_dir
        self.name = name
        self.cancelled = False

    def path(self, suffix: str) -> Path:
        return self.job_dir / f"{self.name}.{suffix}"

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Remembered so that a task swallowing TaskCancelled still ends "cancelled", not done.
        self.cancelled = True
        raise TaskCancelled(f"received signal {signal.Signals(signum).name}")

    def run(self) -> int:
        """Execute the task; returns the process exit code (0 done, 1 failed)."""
        os.chdir(self.job_dir)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        from xpm_core.runtime.rank import process_rank

        rank = process_rank()
        if rank > 0:
            # Rank 0 holds the lock and writes the markers; waiting for its lock would deadlock
            # a distributed task whose ranks wait for each other.
            logger.info("process rank %d: running the task without locks or markers", rank)
            try:
                self._run_task()
            except BaseException:  # noqa: BLE001 - the exit code says it; rank 0 records the failure
                traceback.print_exc()
                return 1
            return 0
        logger.info("locking %s", self.path("lock"))
        # fcntl directly rather than the local connector: job processes import as little as possible.
        fd = open_lock_file(self.path("lock"))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.path("done").exists():
                logger.info("already done: nothing to run")
                return 0
            self.path("failed").unlink(missing_ok=True)
            from xpm_core.config.partial_lock import partial_locks

            with partial_locks(self.job_dir):  # one writer per partial directory at a time
                return self._execute()
        finally:
            os.close(fd)  # releases the lock

    def _execute(self) -> int:
        from xpm_core.runtime import task_progress
        from xpm_core.runtime.progress_file import remove_progress

        started = time.time()
        remove_progress(self.job_dir)  # an earlier attempt's progress is not this one's
        task_progress.start_reporting(self.job_dir)
        try:
            try:
                self._run_task()
            finally:
                task_progress.stop_reporting()
            if self.cancelled:
                raise TaskCancelled("the task ignored its cancellation")
        except BaseException as exc:  # every way out must leave a marker
            reason = "failed"
            if isinstance(exc, GracefulTimeout):
                reason = "timeout"
            elif isinstance(exc, (TaskCancelled, KeyboardInterrupt)) or self.cancelled:
                reason = "cancelled"
            traceback.print_exc()
            failure = {"code": 1, "reason": reason, "message": f"{type(exc).__name__}: {exc}"}
            _write_atomically(self.path("failed"), json.dumps(failure))
            logger.error("task %s after %.1f s (%s)", reason, time.time() - started, failure["message"])
            return 1
        logger.info("task done in %.1f s", time.time() - started)
        self.path("pid").unlink(missing_ok=True)
        _write_atomically(self.path("done"), "")  # last: its presence means success
        return 0

    def _run_task(self) -> None:
        execute_task(self.job_dir)


def execute_task(job_dir: Path) -> None:
    """Rebuild the task of ``job_dir/params.json``, run its init tasks, then execute it (no marker)."""
    load_task(job_dir)()


def load_task(job_dir: Path) -> Callable[[], None]:
    """Rebuild the task of ``job_dir/params.json``; returns what runs its init tasks and executes it."""
    from xpm_core.serialization.params import from_task_dir

    config = from_task_dir(job_dir)
    objects: dict[int, Any] = {}
    task = config.instance(objects=objects)
    provider = os.environ.get(REMAINING_TIME_ENV)
    if provider:  # set by launchers that know the job's time limit (e.g. xpm-slurm)
        import pkgutil

        task.__xpm_remaining_time__ = pkgutil.resolve_name(provider)
    init_tasks = [init_task.instance(objects=objects) for init_task in config.__xpm__.init_tasks]

    def run() -> None:
        for init_task in init_tasks:
            init_task.execute()
        logger.info("running %s", config.__xpmtype__.identifier)
        task.execute()

    return run


def run_job(script: str) -> None:
    """Entry point of a generated ``NAME.py``: run the job of the script's directory and exit."""
    path = Path(script).resolve()
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s:%(process)d:%(asctime)s [%(name)s] %(message)s",
        datefmt="%y-%m-%d %H:%M:%S",
    )
    sys.exit(JobRunner(path.parent, path.stem).run())


def main(argv: list[str] | None = None) -> None:
    """``python -m xpm_core.run JOBDIR/NAME.py``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m xpm_core.run JOBDIR/NAME.py")
    run_job(args[0])


if __name__ == "__main__":
    main()
