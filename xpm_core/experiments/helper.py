"""``ExperimentHelper``: what ``run(helper, cfg)`` receives; ``helper.xp`` is the running experiment."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Sequence

from xpm_core.experiments.errors import ExperimentSetupError

if TYPE_CHECKING:
    from xpm_core.runtime.experiment import experiment


class ExperimentHelper:
    """Wraps the plan's ``run`` function; subclass it to accept extra command-line ``ARGS``."""

    #: The running experiment, set before ``run`` is called.
    xp: experiment

    def __init__(self, callable: Callable[[ExperimentHelper, Any], Any]) -> None:  # noqa: A002 - experimaestro's name
        self.callable = callable

    def run(self, args: Sequence[str], configuration: Any) -> None:
        """Call ``run(helper, configuration)``; ``args`` are the command line's extra ARGS."""
        if args:
            raise ExperimentSetupError(
                f"unexpected arguments {' '.join(args)!r}: this experiment takes none "
                "(an ExperimentHelper subclass may accept them)"
            )
        self.callable(self, configuration)

    @classmethod
    def decorator(cls, *args: Any, **kwargs: Any) -> Any:
        """``@ExperimentHelper.decorator`` or ``@ExperimentHelper.decorator()`` on ``run``."""
        if len(args) == 1 and not kwargs and inspect.isfunction(args[0]):
            return cls(args[0])  # experimaestro wrapped the builtin `callable` here (reference §10.13)

        def wrap(function: Callable[[ExperimentHelper, Any], Any]) -> ExperimentHelper:
            return cls(function)

        return wrap
