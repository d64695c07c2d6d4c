"""The seam between configurations and the runtime: ``task.submit()`` hands the task to the current experiment.

The runtime (``experiment``) registers itself with :func:`set_current_experiment` (or the
:func:`running_experiment` context manager) and implements :class:`ExperimentLike`. The core
validates the task, marks it as its own task (``task.__xpm__.task is task``), calls
``experiment.submit(task, request)`` — which must seal the task with a job
:class:`~xpm_core.config.generators.GenerationContext` (its job directory comes from
``task.__identifier__()``, computed before sealing) and return a non-None job handle — and then
computes the task outputs (``task_outputs(dep)`` / ``__submit__(dep, add_action)``).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Protocol

import attrs

from xpm_core.config.errors import NoExperimentError, format_location

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin


@attrs.frozen
class SubmitRequest:
    """The arguments of ``submit()`` besides the task, for the runtime."""

    workspace: Any = None
    launcher: Any = None
    run_mode: Any = None
    init_tasks: tuple = ()
    max_retries: Optional[int] = None
    transient: Any = None


class ExperimentLike(Protocol):
    """What ``submit()`` needs from the running experiment."""

    def submit(self, task: ConfigMixin, request: SubmitRequest) -> Any:
        """Seal ``task`` for its job directory, schedule it and return a (non-None) job handle."""

    # Optional: ``add_action(action)``, passed to ``__submit__`` (None when missing).


_experiments: List[ExperimentLike] = []

#: ``__xpm__`` attributes holding callbacks given before ``submit()`` (see xpm_core.runtime.callbacks).
PENDING_KEYS = frozenset({"_xpm_on_completed", "_xpm_watched_outputs"})


def current_experiment() -> Optional[ExperimentLike]:
    """The experiment receiving submitted tasks, or None."""
    return _experiments[-1] if _experiments else None


def set_current_experiment(experiment: Optional[ExperimentLike]) -> None:
    """Make ``experiment`` current (None: remove the innermost one)."""
    if experiment is None:
        if _experiments:
            _experiments.pop()
    else:
        _experiments.append(experiment)


@contextlib.contextmanager
def running_experiment(experiment: ExperimentLike) -> Iterator[ExperimentLike]:
    """Within the block, ``submit()`` goes to ``experiment``."""
    _experiments.append(experiment)
    try:
        yield experiment
    finally:
        _experiments.remove(experiment)


def _dry_run_experiment(run_mode: Any, workspace: Any) -> Optional[ExperimentLike]:
    """Outside an experiment, ``run_mode=DRY_RUN`` simulates the submission in a throw-away one.

    Nothing is written: the job's identifier, folder (under ``workspace``, by default the current
    directory) and the task outputs are computed, as in a notebook or a unit test.
    """
    if run_mode is None:
        return None
    from xpm_core.runtime.experiment import RunMode, experiment  # noqa: PLC0415

    if RunMode.parse(run_mode) is not RunMode.DRY_RUN:
        return None
    return experiment(workspace if workspace is not None else ".", "dry-run", run_mode=RunMode.DRY_RUN)


#: One submission at a time: the plan and its callbacks (another thread) may submit together, and
#: an experiment's records (jobs.jsonl, objects.jsonl) are written in submission order.
_submitting = threading.RLock()


def submit_task(task: ConfigMixin, **kwargs: Any) -> Any:
    """Validate ``task``, hand it to the current experiment, and return its output."""
    with _submitting:
        return _submit_task(task, **kwargs)


def _submit_task(task: ConfigMixin, **kwargs: Any) -> Any:
    info = task.__xpm__
    xpmtype = info.xpmtype
    if not xpmtype.task:
        raise TypeError(f"{xpmtype.display_name} is not a Task and cannot be submitted")
    if info.job is not None:
        raise RuntimeError(
            f"{xpmtype.display_name} (created at {format_location(info.initlocation)}) was already submitted"
        )
    experiment = current_experiment()
    if experiment is None:
        experiment = _dry_run_experiment(kwargs.get("run_mode"), kwargs.get("workspace"))
    if experiment is None:
        raise NoExperimentError(
            f"no experiment is running: use `with experiment(...)` around {xpmtype.display_name}.C(...).submit(), "
            "or submit(run_mode=RunMode.DRY_RUN) to compute its identifier, paths and outputs"
        )
    info.set_init_tasks(kwargs.pop("init_tasks", []) or [])
    info.validate()
    request = SubmitRequest(init_tasks=tuple(info.init_tasks), **kwargs)
    # A submitted task is its own task (records written during submit say so); no identifier change.
    info.task = task
    try:
        job = experiment.submit(task, request)
        if job is None:
            raise RuntimeError(
                f"{type(experiment).__qualname__}.submit() returned no job for {xpmtype.display_name}"
            )
    except BaseException:
        info.task = None
        raise
    info.job = job
    if PENDING_KEYS.intersection(info.__dict__):  # on_completed / watch_output before submit()
        from xpm_core.runtime.callbacks import task_submitted  # noqa: PLC0415

        task_submitted(task, job)
    value_type = xpmtype.value_type
    if hasattr(value_type, "__submit__"):
        add_action = getattr(experiment, "add_action", None)
        info.taskoutput = value_type.__submit__(task, info.mark_output, add_action)
    elif hasattr(value_type, "task_outputs"):
        info.taskoutput = value_type.task_outputs(task, info.mark_output)
    else:
        info.taskoutput = task
    return info.taskoutput
