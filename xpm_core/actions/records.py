"""A run's actions on disk: ``status.json`` lists them (id, description, class), ``objects.jsonl``
holds their configurations, from which ``xpm experiments actions run`` loads them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from xpm_core.actions.action import Action


class UnknownActionError(LookupError):
    """A run has no action of that id (or the prefix names several)."""


def action_id(action: Any) -> str:
    """The identifier of ``action`` (which is sealed: it is recorded as it is now)."""
    # Typed Any: an ``Action.C(...)`` configuration has the configuration methods, not the class.
    if not isinstance(action, Action):
        raise TypeError(f"add_action() takes an Action configuration (Action.C(...)), not {type(action).__name__}")
    config: Any = action  # narrowed to Action by isinstance, which lacks the configuration methods
    config.seal()
    return config.__identifier__().hex()


def action_record(identifier: str, action: Any) -> dict[str, Any]:
    """The entry of ``status.json``'s ``actions`` for ``action``."""
    xpmtype = action.__xpm__.xpmtype
    return {
        "action_id": identifier,
        "description": action.describe(),
        "class": f"{xpmtype.module}.{xpmtype.qualname}",
    }


def actions_record(actions: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {identifier: action_record(identifier, action) for identifier, action in actions.items()}


def recorded_actions(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``actions`` of a run's ``status.json``: id -> {action_id, description, class}."""
    try:
        status = json.loads((Path(run_dir) / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    actions = status.get("actions") if isinstance(status, dict) else None
    return actions if isinstance(actions, dict) else {}


def resolve_action_id(run_dir: Path, reference: str) -> str:
    """The full id of the action ``reference`` (its id, or a prefix naming one action) of a run."""
    known = recorded_actions(run_dir)
    if reference in known:
        return reference
    matches = [identifier for identifier in known if identifier.startswith(reference)]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(identifier[:12] for identifier in sorted(known)) or "none"
    if matches:
        raise UnknownActionError(f"{reference!r} names {len(matches)} actions of run {Path(run_dir).name}: "
                                 "give more characters of the id")
    raise UnknownActionError(f"run {Path(run_dir).name} has no action {reference!r} (actions: {listed})")


def load_action(run_dir: Path, reference: str) -> tuple[str, Action]:
    """The action ``reference`` of a run, loaded from its ``objects.jsonl``."""
    from xpm_core.serialization.experiment_info import load_xp_info

    identifier = resolve_action_id(run_dir, reference)
    actions = load_xp_info(run_dir).actions
    if identifier not in actions:
        raise UnknownActionError(f"action {identifier[:12]} is listed in status.json but its configuration "
                                 f"is not in {Path(run_dir) / 'objects.jsonl'}")
    return identifier, actions[identifier]
