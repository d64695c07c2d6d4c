"""Dynamic task outputs: a running task registers outputs (one JSON line each), the driver builds them for callbacks.

In the task, ``cfg.register_task_output(cfg.method, *args, **kwargs)`` appends
``{"key": "<cfg identifier>/<method>", "args": [...], "kwargs": {...}}`` to
``JOBDIR/.experimaestro/task-outputs.jsonl`` (experimaestro's file, so that both tools read it).
In the driver, ``task.watch_output(cfg.method, callback)`` follows that file: for each line it calls
``cfg.method(dep, *args, **kwargs)`` (``dep`` marks the result as an output of the task) and then
``callback(output)`` on the plan's callback thread. The file is read from its start, so outputs
registered before the callback was added, or by an earlier run of the job, are replayed.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import attrs

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin
    from xpm_core.runtime.callbacks import CallbackRunner
    from xpm_core.runtime.job import Job

logger = logging.getLogger("xpm.dynamic_outputs")

#: Where a job's registered outputs go, relative to its folder.
OUTPUTS_FILE = Path(".experimaestro") / "task-outputs.jsonl"
#: Seconds between two reads of a running job's outputs file.
POLL_SECONDS = 0.5


# ---- in the task ---------------------------------------------------------------------------


def _job_directory() -> Path:
    """The folder of the job running in this process (the job process works in it)."""
    here = Path.cwd()
    if not (here / "params.json").is_file():
        raise RuntimeError(
            f"register_task_output() is called in a running task; the current directory {here} is not "
            "a job folder (a task that changes directory must change back before registering outputs)"
        )
    return here


def output_key(config: ConfigMixin, method_name: str) -> str:
    """``<identifier of config>/<method>``: what a line of the outputs file says it is for."""
    return f"{config.__identifier__().all.hex()}/{method_name}"


def _method_name(owner: Any, method: Any, what: str) -> str:
    name = getattr(method, "__name__", None)
    if name is None or getattr(method, "__self__", None) is not owner:
        raise TypeError(
            f"{what} takes a method of the configuration it is called on (e.g. cfg.checkpoint), not {method!r}"
        )
    return name


def register_task_output(config: Any, method: Any, *args: Any, **kwargs: Any) -> None:
    """Append one output of ``config`` (an object of the running task) to the job's outputs file."""
    from xpm_core.config.objects import ConfigMixin

    name = _method_name(config, method, "register_task_output()")
    source = config if isinstance(config, ConfigMixin) else config.xpmconfig
    try:
        line = json.dumps({"key": output_key(source, name), "args": list(args), "kwargs": kwargs})
    except TypeError as exc:
        raise TypeError(
            f"register_task_output({name}, ...): arguments must be JSON values (numbers, strings, lists, "
            f"dicts): {exc}"
        ) from None
    path = _job_directory() / OUTPUTS_FILE
    path.parent.mkdir(exist_ok=True)
    # One write of a whole line in append mode: the driver never reads half of one.
    with open(path, "a") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())


# ---- in the driver -------------------------------------------------------------------------


@attrs.define(eq=False)
class WatchedOutput:
    """``task.watch_output(config.method, callback)``."""

    task: ConfigMixin
    config: ConfigMixin
    method: Callable[..., Any]
    callback: Callable[[Any], Any]

    @property
    def key(self) -> str:
        return output_key(self.config, self.method.__name__)

    def deliver(self, event: dict[str, Any]) -> None:
        """Build the output the event describes and hand it to the callback (on the callback thread)."""
        dep = functools.partial(self.task.__xpm__.mark_output, dynamic=True)
        output = self.method(dep, *event.get("args", []), **event.get("kwargs", {}))
        self.callback(output)


def watch_output(task: ConfigMixin, method: Any, callback: Callable[[Any], Any]) -> None:
    """``task.watch_output(cfg.method, callback)``: follow the outputs ``cfg.method`` of a resumable task."""
    from xpm_core.config.objects import ConfigMixin, ResumableTask
    from xpm_core.runtime import callbacks

    if not isinstance(task, ResumableTask):
        raise TypeError(
            f"watch_output() needs a ResumableTask: {task.__xpmtype__.display_name} is not one (dynamic "
            "outputs are read from the job folder, which only a resumable task keeps across restarts)"
        )
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, ConfigMixin):
        raise TypeError(
            f"watch_output() takes a method of a configuration (e.g. validation.checkpoint), not {method!r}"
        )
    if not callable(callback):
        raise TypeError(f"watch_output() takes a function as callback, not {callback!r}")
    callbacks.watch_output(task, WatchedOutput(task, owner, method, callback))


class OutputWatcher:
    """Follows one job's outputs file on a thread, posting each output to the watching callbacks."""

    def __init__(self, job: Job, runner: CallbackRunner) -> None:
        self.job = job
        self.runner = runner
        self.path = job.path / OUTPUTS_FILE
        self._events: list[dict[str, Any]] = []
        self._watched: list[WatchedOutput] = []
        self._offset = 0
        self._condition = threading.Condition()
        self._caught_up = False  # the last read began after the job had ended
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"xpm-outputs-{job.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, watched: WatchedOutput) -> None:
        """Watch one more output; the outputs already read are replayed to it."""
        with self._condition:
            self._watched.append(watched)
            seen = list(self._events)
        for event in seen:
            self._post(watched, event)

    def _post(self, watched: WatchedOutput, event: dict[str, Any]) -> None:
        if event.get("key") != watched.key:
            return
        description = (
            f"dynamic output {watched.method.__name__} (callback {getattr(watched.callback, '__qualname__', '?')}) "
            f"of job {self.job.task_id}/{self.job.identifier}"
        )
        self.runner.post(functools.partial(watched.deliver, event), description)

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        for line in complete.splitlines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as exc:
                logger.warning("ignoring an unreadable line of %s (%s): %r", self.path, exc, line[:200])
                continue
            with self._condition:
                self._events.append(event)
                watched = list(self._watched)
            for entry in watched:
                self._post(entry, event)

    def _follow(self) -> None:
        while not self._closed.is_set():
            finished = self.job.finished
            try:
                self._read_new()
            except OSError as exc:  # an unreadable file now may be readable later (NFS)
                logger.warning("cannot read %s: %s", self.path, exc)
            with self._condition:
                self._caught_up = finished
                self._condition.notify_all()
            if finished:
                self._closed.wait(POLL_SECONDS)  # a resubmitted job may run again
            else:
                self.job.wait_finished(POLL_SECONDS)

    def wait_caught_up(self, check: Callable[[], None]) -> None:
        """Block until every output the (ended) job registered has been posted."""
        with self._condition:
            while not (self._caught_up and self.job.finished):
                self._condition.wait(POLL_SECONDS)
                check()

    def close(self) -> None:
        self._closed.set()
