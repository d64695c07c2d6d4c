"""``Action``: a configuration that describes an operation on an experiment's results (export a
model, publish a table), registered by the plan and executed later, asking its user through an
:class:`~xpm_core.actions.interaction.Interaction`."""

from __future__ import annotations

from xpm_core.actions.interaction import Interaction
from xpm_core.config.objects import Config


class Action(Config):
    """Define :meth:`describe` and :meth:`execute`; register with ``add_action`` (in ``__submit__``)
    or ``xp.add_action(...)``; run with ``xpm experiments actions run EXPERIMENT ACTION_ID``."""

    def describe(self) -> str:
        """One line saying what the action does."""
        raise NotImplementedError(f"{type(self).__qualname__} must define describe()")

    def execute(self, interaction: Interaction) -> None:
        """Do the action, asking ``interaction`` for what it needs to know."""
        raise NotImplementedError(f"{type(self).__qualname__} must define execute(interaction)")
