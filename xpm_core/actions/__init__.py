"""Actions: operations on an experiment's results, registered by the plan and run later from the CLI
(``xpm experiments actions run``). experimaestro's ``experimaestro.actions`` module path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.lazy_exports import lazy_getattr

_LAZY_EXPORTS = {
    "Action": "xpm_core.actions.action",
    "Interaction": "xpm_core.actions.interaction",
    "CLIInteraction": "xpm_core.actions.interaction",
    "InteractionError": "xpm_core.actions.interaction",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from xpm_core.actions.action import Action
    from xpm_core.actions.interaction import CLIInteraction, Interaction, InteractionError

__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
