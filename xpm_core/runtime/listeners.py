"""``Listener``: experimaestro's scheduler listener, told of submitted jobs, job states and services.

Register one with ``xp.scheduler.addlistener(listener)`` (or ``Scheduler.instance().addlistener``)
and it is called for every job of the driver. Calls come from the scheduler's "hooks" thread, the
one that delivers plugin events (``xpm_job_state_changed``): never from the scheduler's loop, so a
slow or broken listener delays no job; an exception it raises is logged.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from xpm_core.plugin.job_state import JobState

if TYPE_CHECKING:
    from xpm_core.runtime.job import Job

logger = logging.getLogger("xpm.listeners")


class Listener:
    """Subclass it and override what you need; every method does nothing by default."""

    def job_submitted(self, job: Job) -> None:
        """A job was handed to the scheduler (it is ``waiting``)."""

    def job_state(self, job: Job) -> None:
        """A job changed state (``job.state``; ``job.failure_reason`` when in error)."""

    def service_add(self, service: Any) -> None:
        """A service was added to an experiment (``xp.add_service``)."""

    def service_state_changed(self, service: Any) -> None:
        """A service added after this listener changed state (``service.state``)."""


_listeners: list[Listener] = []
_lock = threading.Lock()


def add(listener: Listener) -> None:
    """Call ``listener`` for the jobs and services of this process from now on."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def remove(listener: Listener) -> None:
    """Stop calling ``listener`` (no error if it was not registered)."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _current() -> list[Listener]:
    with _lock:
        return list(_listeners)


def _call(listener: Listener, method: str, target: Any) -> None:
    try:
        getattr(listener, method)(target)
    except Exception:  # user code: logged, never allowed to stop the others
        logger.exception("listener %r: %s failed", listener, method)


def job_state_changed(job: Job, previous: JobState, current: JobState) -> None:
    """From the hooks thread, with the plugin event of the same name."""
    for listener in _current():
        if current is JobState.WAITING and previous is JobState.UNSCHEDULED:
            _call(listener, "job_submitted", job)
        _call(listener, "job_state", job)


def service_added(service: Any) -> None:
    """From ``xp.add_service``: tell the listeners, which then follow the service's states."""
    for listener in _current():
        _call(listener, "service_add", service)
        if hasattr(service, "add_listener"):
            service.add_listener(listener)
