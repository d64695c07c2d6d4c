"""A run's services (xp.add_service): their JSON API and their page, with start and stop buttons.

Read and acted on through ``WorkspaceAPI.services/start_service/stop_service``: a service started
here runs in the web server's process until it is stopped (or the server ends); one the plan's
driver or ``xpm experiments services start`` runs is shown, and stopping it is refused.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, jsonify, render_template, request

from xpm_core.plugin import WorkspaceAPIError
from xpm_web.context import logger, workspace

blueprint = Blueprint("services", __name__)


class ServicesUnavailable(Exception):
    """The workspace is reached through a connection that does not offer services (a remote one)."""


@blueprint.errorhandler(WorkspaceAPIError)
def _workspace_error(error: WorkspaceAPIError) -> Any:
    message = str(error)
    missing = message.startswith("no experiment") or " has no run " in message or " has no service " in message
    status = 404 if missing else 409
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", message=message), status


@blueprint.errorhandler(ServicesUnavailable)
def _unavailable(error: ServicesUnavailable) -> Any:
    return jsonify(error=str(error)), 501


def _api(api: Any, method: str) -> Any:
    function = getattr(api, method, None)
    if function is None:
        raise ServicesUnavailable(
            "services of a remote workspace are started on its machine (xpm experiments services start)"
            if method != "services" else "services are not available for this workspace connection")
    return function


def _run(run_id: str) -> Optional[str]:
    return None if run_id == "latest" else run_id


@blueprint.get("/api/experiments/<experiment_id>/runs/<run_id>/services")
def services(experiment_id: str, run_id: str) -> Response:
    """The services of a run (``latest``: the latest run): id, description, state, url, error, ..."""
    with workspace() as api:
        return jsonify(services=_api(api, "services")(experiment_id, _run(run_id)))


def _target() -> tuple[str, Optional[str], str]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(isinstance(body.get(key), str) for key in ("experiment", "service")):
        raise WorkspaceAPIError("send a JSON object {\"experiment\": ..., \"run\": ..., \"service\": ...}")
    run = body.get("run")
    return body["experiment"], _run(run) if isinstance(run, str) else None, body["service"]


@blueprint.post("/api/services/start")
def start() -> Response:
    """Start a service of a run in the server's process (``{"experiment", "run", "service"}``)."""
    experiment_id, run_id, service_id = _target()
    with workspace() as api:
        row = _api(api, "start_service")(experiment_id, service_id, run_id)
    logger.info("web start of service %s (%s) from %s: %s", service_id, experiment_id, request.remote_addr,
                row.get("url"))
    return jsonify(service=row)


@blueprint.post("/api/services/stop")
def stop() -> Response:
    """Stop a service this server started (``{"experiment", "run", "service"}``)."""
    experiment_id, run_id, service_id = _target()
    with workspace() as api:
        row = _api(api, "stop_service")(experiment_id, service_id, run_id)
    logger.info("web stop of service %s (%s) from %s", service_id, experiment_id, request.remote_addr)
    return jsonify(service=row)


@blueprint.get("/experiments/<experiment_id>/runs/<run_id>/services")
def page(experiment_id: str, run_id: str) -> str:
    """The services of a run: state, link, and start/stop buttons (static/services.js)."""
    with workspace() as api:
        rows = _api(api, "services")(experiment_id, _run(run_id))
    return render_template("services.html", page="services", experiment_id=experiment_id, run_id=run_id,
                           services=rows)
