"""Delivering the driver's events to the plugins, from the scheduler's "hooks" notifier thread.

One function per event hook, posted with its arguments: loading the plugins (on first use)
happens in that thread, never on the scheduler's hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xpm_core.plugin.events import ExperimentView, JobView
    from xpm_core.plugin.job_state import JobState


def experiment_started(experiment: ExperimentView) -> None:
    """Tell the plugins that a run started."""
    from xpm_core.plugin.registry import get_registry

    get_registry().experiment_started(experiment)


def job_state_changed(job: JobView, previous: JobState, current: JobState) -> None:
    """Tell the plugins, and the scheduler listeners (``addlistener``), that a job changed state."""
    from xpm_core.plugin.registry import get_registry
    from xpm_core.runtime import listeners

    try:
        get_registry().job_state_changed(job, previous, current)
    finally:  # a plugin that fails must not silence the listeners
        listeners.job_state_changed(job, previous, current)  # type: ignore[arg-type]


def experiment_finished(experiment: ExperimentView, failed: bool) -> None:
    """Tell the plugins that a run ended."""
    from xpm_core.plugin.registry import get_registry

    get_registry().experiment_finished(experiment, failed)
