"""The JSON API under ``/api/``: a thin view over WorkspaceAPI, used by the pages and by scripts."""

from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, jsonify, request

from xpm_core.plugin import FilterSyntaxError, JobState, WorkspaceAPIError
from xpm_web.context import logger, plain, workspace

blueprint = Blueprint("api", __name__, url_prefix="/api")

#: The most jobs one page of the listing returns.
MAX_LIMIT = 1000


class BadRequest(Exception):
    """A request whose parameters are wrong (answered 400 with the message)."""


@blueprint.errorhandler(FilterSyntaxError)
def _filter_error(error: FilterSyntaxError) -> tuple[Response, int]:
    return jsonify(error=str(error), column=error.column, reason=error.reason), 400


@blueprint.errorhandler(WorkspaceAPIError)
def _workspace_error(error: WorkspaceAPIError) -> tuple[Response, int]:
    message = str(error)
    missing = message.startswith(("no experiment", "unknown job")) or " has no run " in message
    return jsonify(error=message), 404 if missing else 400


@blueprint.errorhandler(BadRequest)
def _bad_request(error: BadRequest) -> tuple[Response, int]:
    return jsonify(error=str(error)), 400


def _int(name: str, default: Optional[int]) -> Optional[int]:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None


def job_query() -> dict[str, Any]:
    """The ``WorkspaceAPI.jobs`` arguments a listing's query string gives (shared with the pages)."""
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequest(f"order must be 'asc' or 'desc', got {order!r}")
    limit = _int("limit", 100)
    if limit is not None and not 0 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
    return {
        "experiment_id": request.args.get("experiment") or None,
        "run_id": request.args.get("run") or None,
        "filter": request.args.get("filter") or None,
        "sort": request.args.get("sort") or "submitted",
        "descending": order == "desc",
        "offset": _int("offset", 0),
        "limit": limit,
    }


# ---- reading -------------------------------------------------------------------------------------


@blueprint.get("/experiments")
def experiments() -> Response:
    with workspace() as api:
        return jsonify(experiments=plain(api.experiments()))


@blueprint.get("/experiments/<experiment_id>/runs")
def runs(experiment_id: str) -> Response:
    with workspace() as api:
        return jsonify(runs=plain(api.runs(experiment_id)))


@blueprint.get("/jobs")
def jobs() -> Response:
    query = job_query()
    if query["run_id"] == "latest" and query["experiment_id"]:
        query["run_id"] = latest_run(query["experiment_id"])
    with workspace() as api:
        return jsonify(plain(api.jobs(**query)))


def latest_run(experiment_id: str) -> Optional[str]:
    with workspace() as api:
        for summary in api.experiments():
            if summary.experiment_id == experiment_id:
                return summary.latest.run_id if summary.latest else None
        api.runs(experiment_id)  # raises the "no experiment" error
    return None


@blueprint.get("/jobs/<task_id>/<job_id>")
def job(task_id: str, job_id: str) -> Response:
    with workspace() as api:
        return jsonify(plain(api.job(f"{task_id}/{job_id}")))


@blueprint.get("/jobs/<task_id>/<job_id>/log/<stream>")
def log(task_id: str, job_id: str, stream: str) -> Response:
    offset = _int("offset", 0)
    size = _int("size", 64 * 1024)
    with workspace() as api:
        return jsonify(plain(api.log(f"{task_id}/{job_id}", stream, offset, size)))


@blueprint.get("/experiments/<experiment_id>/runs/<run_id>/dependencies")
def dependencies(experiment_id: str, run_id: str) -> Response:
    with workspace() as api:
        return jsonify(dependencies=api.dependencies(experiment_id, run_id))


@blueprint.get("/warnings")
def warnings() -> Response:
    """Problems to fix in the workspace, each with the commands that fix it (WorkspaceAPI.warnings)."""
    with workspace() as api:
        return jsonify(warnings=plain(api.warnings()))


@blueprint.get("/changes")
def changes() -> Response:
    """The workspace's change token: poll it cheaply (the pages use the event stream instead)."""
    with workspace() as api:
        return jsonify(token=api.change_token())


# ---- actions -------------------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object, e.g. {\"jobs\": [\"TASK_ID/HASH\"], \"perform\": true}")
    return body


def _references(body: dict[str, Any]) -> list[str]:
    references = body.get("jobs")
    if not isinstance(references, list) or not references or not all(isinstance(r, str) for r in references):
        raise BadRequest("'jobs' must be a non-empty list of job ids (TASK_ID/HASH)")
    return references


def _perform(body: dict[str, Any]) -> bool:
    perform = body.get("perform", False)
    if not isinstance(perform, bool):
        raise BadRequest("'perform' must be true (do it) or false (say what would be done)")
    return perform


def _answer(action: str, outcomes: list[Any], perform: bool) -> Response:
    if perform:
        for outcome in outcomes:
            logger.info("web %s from %s: %s", action, request.remote_addr, outcome.message)
        if not outcomes:
            logger.info("web %s from %s: nothing to do", action, request.remote_addr)
    return jsonify(outcomes=plain(outcomes), refused=sum(1 for outcome in outcomes if outcome.refused))


@blueprint.post("/actions/kill")
def kill() -> Response:
    """Kill jobs (``{"jobs": [...], "perform": true}``); a dry run tells what would happen."""
    body = _body()
    perform = _perform(body)
    with workspace() as api:
        return _answer("kill", api.kill(_references(body), perform=perform), perform)


@blueprint.post("/actions/kill-run")
def kill_run() -> Response:
    """Kill every unfinished job of a run (``{"experiment": ..., "run": ..., "perform": true}``)."""
    body = _body()
    perform = _perform(body)
    experiment_id, run_id = body.get("experiment"), body.get("run")
    if not isinstance(experiment_id, str) or not isinstance(run_id, str):
        raise BadRequest("give 'experiment' and 'run' (ids, as strings)")
    with workspace() as api:
        # Selected by the index (a run may hold 100,000 jobs, most of them finished).
        states = ", ".join(f'"{state.value}"' for state in JobState if not state.finished)
        page = api.jobs(experiment_id=experiment_id, run_id=run_id, filter=f"@state in [{states}]", limit=None)
        unfinished = [job.full_id for job in page.jobs]
        outcomes = api.kill(unfinished, perform=perform) if unfinished else []
        return _answer("kill-run", outcomes, perform)


@blueprint.post("/actions/clean")
def clean() -> Response:
    """Delete finished jobs' folders (``{"jobs": [...], "perform": true}``); refuses unfinished ones."""
    body = _body()
    perform = _perform(body)
    with workspace() as api:
        return _answer("clean", api.clean(_references(body), perform=perform), perform)
