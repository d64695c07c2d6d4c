"""A run's actions (add_action): their JSON API and the run page's section, each with the command that runs it.

Read through ``WorkspaceAPI.actions``. The web UI does not execute actions: an action asks its
questions while it runs (``Interaction.choice/checkbox/text`` inside ``execute``), so no form can
be built before it starts without running the plan's code; ``xpm experiments actions run`` in a
terminal asks them, or takes them from ``--set KEY=VALUE`` (docs/services_and_actions.md).
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, jsonify

from xpm_core.plugin import WorkspaceAPIError
from xpm_web.context import logger, workspace

blueprint = Blueprint("actions", __name__)


@blueprint.errorhandler(WorkspaceAPIError)
def _workspace_error(error: WorkspaceAPIError) -> tuple[Response, int]:
    message = str(error)
    missing = message.startswith("no experiment") or " has no run " in message
    return jsonify(error=message), 404 if missing else 400


def _run(run_id: str) -> Optional[str]:
    return None if run_id == "latest" else run_id


@blueprint.get("/api/experiments/<experiment_id>/runs/<run_id>/actions")
def actions(experiment_id: str, run_id: str) -> Any:
    """The actions of a run (``latest``: the latest run): id, description, class, command."""
    with workspace() as api:
        listing = getattr(api, "actions", None)
        if listing is None:
            return jsonify(error="actions are not available for this workspace connection"), 501
        return jsonify(actions=listing(experiment_id, _run(run_id)))


def run_actions(experiment_id: str, run_id: str) -> list[dict[str, Any]]:
    """The actions the run page shows: none when they cannot be read (the page says the rest)."""
    with workspace() as api:
        listing = getattr(api, "actions", None)
        if listing is None:
            return []
        try:
            return list(listing(experiment_id, _run(run_id)))
        except WorkspaceAPIError as error:  # an unknown run: the page's script says so
            logger.debug("no actions for %s/%s: %s", experiment_id, run_id, error)
            return []
