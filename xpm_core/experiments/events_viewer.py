"""``xpm run-experiment --events-viewer``: the scheduler's events on stdout, one line each, for scripts.

The viewer is a plugin object registered for the run: it receives the same event hooks as any
monitor (``xpm_experiment_started``, ``xpm_job_state_changed``, ``xpm_experiment_finished``),
delivered off the scheduler's hot path, and writes them as JSON objects (``--events-format
json``) or as short text lines (``text``). Events, with their keys beside ``event`` and
``time`` (seconds since the epoch):

- ``experiment_started``: ``experiment_id``, ``run_id``, ``workspace``
- ``job_submitted`` (the first event of each job): ``job_id``, ``task_id``, ``path``, ``tags``
- ``job_state``: ``job_id``, ``task_id``, ``previous``, ``state`` (lower-case state names)
- ``experiment_finished``: ``experiment_id``, ``run_id``, ``failed`` (whether a job failed)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from xpm_core.plugin.hookspecs import hookimpl

if TYPE_CHECKING:
    from xpm_core.plugin.events import ExperimentView, JobView
    from xpm_core.plugin.job_state import JobState

#: The name the viewer is registered under, for the time of a run.
PLUGIN_NAME = "xpm-events-viewer"
FORMATS = ("text", "json")


class EventsViewer:
    """Writes every event of the run to ``stream`` (standard output by default), one line each."""

    def __init__(self, events_format: str = "text", stream: TextIO | None = None) -> None:
        if events_format not in FORMATS:
            raise ValueError(f"unknown events format {events_format!r}; expected one of: {', '.join(FORMATS)}")
        self.events_format = events_format
        self.stream = stream if stream is not None else sys.stdout
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    # ---- hooks ---------------------------------------------------------------------------

    @hookimpl
    def xpm_experiment_started(self, experiment: ExperimentView) -> None:
        self._emit("experiment_started", experiment_id=experiment.id, run_id=experiment.run_id,
                   workspace=str(experiment.workspace))

    @hookimpl
    def xpm_job_state_changed(self, job: JobView, previous: JobState, current: JobState) -> None:
        if job.identifier not in self._seen:
            self._seen.add(job.identifier)
            self._emit("job_submitted", job_id=job.identifier, task_id=job.task_id, path=str(job.path),
                       tags=dict(job.tags))
        self._emit("job_state", job_id=job.identifier, task_id=job.task_id, previous=str(previous), state=str(current))

    @hookimpl
    def xpm_experiment_finished(self, experiment: ExperimentView, failed: bool) -> None:
        self._emit("experiment_finished", experiment_id=experiment.id, run_id=experiment.run_id, failed=failed)

    # ---- output --------------------------------------------------------------------------

    def _emit(self, event: str, **fields: Any) -> None:
        now = time.time()
        if self.events_format == "json":
            line = json.dumps({"event": event, "time": now, **fields}, default=str)
        else:
            line = f"{time.strftime('%H:%M:%S', time.localtime(now))} {event} {_text(event, fields)}"
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()  # a script reading the pipe sees each event when it happens


def _text(event: str, fields: dict[str, Any]) -> str:
    if event == "job_submitted":
        tags = " ".join(f"{key}={value}" for key, value in fields["tags"].items())
        return f"{fields['task_id']}/{fields['job_id']}" + (f" {tags}" if tags else "")
    if event == "job_state":
        return f"{fields['task_id']}/{fields['job_id']} {fields['previous']} -> {fields['state']}"
    if event == "experiment_finished":
        return f"{fields['experiment_id']} run {fields['run_id']}" + (" (a job failed)" if fields["failed"] else "")
    return f"{fields['experiment_id']} run {fields['run_id']} in {fields['workspace']}"


class viewing:  # noqa: N801 - used as a context manager, like open()
    """``with viewing(viewer):`` the viewer receives the events of the process's registry."""

    def __init__(self, viewer: EventsViewer) -> None:
        self.viewer = viewer

    def __enter__(self) -> EventsViewer:
        from xpm_core.plugin.registry import get_registry

        get_registry().pm.register(self.viewer, name=PLUGIN_NAME)
        return self.viewer

    def __exit__(self, *exc_info: Any) -> None:
        from xpm_core.plugin.registry import get_registry

        get_registry().pm.unregister(self.viewer, name=PLUGIN_NAME)
