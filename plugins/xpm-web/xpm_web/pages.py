"""The HTML pages, each at a URL that can be bookmarked; their live parts are filled by static/xpm.js."""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, send_file, url_for

from xpm_core.plugin import WorkspaceAPIError
from xpm_web.api import latest_run
from xpm_web.context import logger, state, workspace
from xpm_web.paths import UnsafePathError, file_in_folder

blueprint = Blueprint("pages", __name__)


@blueprint.errorhandler(WorkspaceAPIError)
def _not_found(error: WorkspaceAPIError) -> tuple[str, int]:
    return render_template("error.html", message=str(error)), 404


@blueprint.get("/")
def home() -> Any:
    """The workspace (or, when the monitor was started for one experiment, that experiment)."""
    web = state()
    if web.experiment_id is not None and request.args.get("all") is None:
        if web.run_id is not None:
            return redirect(url_for("pages.run", experiment_id=web.experiment_id, run_id=web.run_id))
        return redirect(url_for("pages.experiment", experiment_id=web.experiment_id))
    with workspace() as api:
        warnings = api.warnings()
    return render_template("workspace.html", page="workspace", warnings=warnings)


@blueprint.get("/experiments/<experiment_id>")
def experiment(experiment_id: str) -> Any:
    """An experiment: its latest run."""
    run_id = latest_run(experiment_id)
    if run_id is None:
        return render_template("error.html", message=f"experiment {experiment_id!r} has no run yet"), 404
    return redirect(url_for("pages.run", experiment_id=experiment_id, run_id=run_id))


@blueprint.get("/experiments/<experiment_id>/runs/<run_id>")
def run(experiment_id: str, run_id: str) -> str:
    """A run's jobs: a table sorted, filtered and paged by the query string (filled by xpm.js).

    Only the experiment is checked here (cheap): the page's script reads the run's summary and
    its jobs through the API, and shows there that a run does not exist.
    """
    from xpm_web.actions import run_actions

    _check_experiment(experiment_id)
    return render_template("run.html", page="run", experiment_id=experiment_id, run_id=run_id,
                           filter=request.args.get("filter", ""), actions=run_actions(experiment_id, run_id))


def _check_experiment(experiment_id: str) -> None:
    with workspace() as api:
        known = [summary.experiment_id for summary in api.experiments()]
    if experiment_id not in known:
        raise WorkspaceAPIError(f"no experiment {experiment_id!r} (experiments: {', '.join(known) or 'none'})")


@blueprint.get("/experiments/<experiment_id>/runs/<run_id>/graph")
def graph(experiment_id: str, run_id: str) -> str:
    """The dependency graph of a run's jobs."""
    _check_experiment(experiment_id)
    return render_template("graph.html", page="graph", experiment_id=experiment_id, run_id=run_id)


@blueprint.get("/experiments/<experiment_id>/runs/<run_id>/timeline")
def timeline(experiment_id: str, run_id: str) -> str:
    """When each of a run's jobs waited, ran and ended."""
    _check_experiment(experiment_id)
    return render_template("timeline.html", page="timeline", experiment_id=experiment_id, run_id=run_id)


@blueprint.get("/jobs/<task_id>/<job_id>")
def job(task_id: str, job_id: str) -> Any:
    """One job: parameters, tags, folder, dependencies, failure, earlier attempts, live logs.

    ``/jobs/_/HASH`` (a dependency known by its hash only) redirects to the job's own URL.
    """
    with workspace() as api:
        detail = api.job(job_id if task_id == "_" else f"{task_id}/{job_id}")
    if task_id == "_":
        return redirect(url_for("pages.job", task_id=detail.job.task_id, job_id=detail.job.job_id))
    return render_template("job.html", page="job", detail=detail, job=detail.job,
                           stdout_name=os.path.basename(detail.stdout_path),
                           stderr_name=os.path.basename(detail.stderr_path))


@blueprint.get("/jobs/<task_id>/<job_id>/files/<path:relative>")
def job_file(task_id: str, job_id: str, relative: str) -> Response:
    """A file of the job's folder (its logs, to download whole); nothing outside the folder."""
    raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if "%" in raw_path.split("?", 1)[0].split("/files/", 1)[-1]:
        logger.warning("refused encoded file path %r", raw_path)
        abort(400, "encoded file paths are refused")
    if state().source.shared:
        abort(404, "the files of a remote workspace are not served")
    with workspace() as api:
        detail = api.job(f"{task_id}/{job_id}")
    try:
        path = file_in_folder(detail.job.path, relative)
    except UnsafePathError as error:
        logger.warning("refused %s: %s", request.path, error)
        abort(400, str(error))
    except FileNotFoundError as error:
        abort(404, str(error))
    text = path.suffix in (".out", ".err", ".json", ".txt", ".log", ".py", ".sh", ".yaml")
    return send_file(path, mimetype="text/plain; charset=utf-8" if text else None,
                     as_attachment=request.args.get("download") is not None, download_name=path.name)


@blueprint.get("/compare")
def compare() -> str:
    """Two or more jobs side by side: the parameters (and tags) that differ."""
    references = [reference for reference in request.args.getlist("job") if reference]
    if len(references) < 2:
        return render_template("error.html", message="choose two jobs or more to compare (?job=TASK_ID/HASH&job=...)")
    with workspace() as api:
        details = [api.job(reference) for reference in references]
    flat = [_flatten({"tags": detail.job.tags, "parameters": detail.parameters or {}}) for detail in details]
    keys = sorted(set().union(*flat))
    rows = [(key, [_shown(values.get(key, _MISSING)) for values in flat]) for key in keys]
    show_all = request.args.get("all") is not None
    differing = [(key, values) for key, values in rows if len(set(values)) > 1]
    return render_template("compare.html", page="compare", details=details, rows=rows if show_all else differing,
                           show_all=show_all, same=len(rows) - len(differing))


_MISSING = object()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and value:
        flat = {}
        for position, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{position}]"))
        return flat
    return {prefix: value}


def _shown(value: Any) -> str:
    return "—" if value is _MISSING else json.dumps(value, sort_keys=True)
