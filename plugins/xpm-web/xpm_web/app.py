"""The flask application factory: the web monitor's pages, JSON API and event stream over a workspace."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from flask import Flask

from xpm_web import access
from xpm_web.changes import ChangeFeed
from xpm_web.context import WebState
from xpm_web.workspaces import WorkspaceSource


def create_app(
    workspace: Union[str, os.PathLike, Any],
    *,
    token: Optional[str] = None,
    experiment_id: Optional[str] = None,
    run_id: Optional[str] = None,
    changes: Optional[ChangeFeed] = None,
    poll_interval: float = 0.25,
) -> Flask:
    """The web monitor of ``workspace`` (a directory, or a WorkspaceAPI-like object).

    :param token: what every request must carry (default: a new random one, in
        ``app.config["XPM_WEB_TOKEN"]``).
    :param experiment_id: the experiment ``/`` opens (None: the list of experiments), at ``run_id``
        (None: its latest run).
    :param changes: the feed of change tokens a monitor's refresh thread publishes to; without
        it the app polls the workspace itself every ``poll_interval`` seconds while a page listens.
    """
    from xpm_web import actions, api, events, pages, services

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    source = WorkspaceSource(workspace)
    feed = changes if changes is not None else ChangeFeed()
    if changes is None:
        def read_token() -> str:
            if source.shared:
                with source.lock:
                    return str(source.api().change_token())
            return str(source.api().change_token())

        feed.poll_in_background(read_token, poll_interval)
    app.extensions["xpm_web"] = WebState(source=source, changes=feed, experiment_id=experiment_id,
                                         run_id=run_id, poll_interval=poll_interval)
    access.install(app, token or access.new_token())
    app.register_blueprint(api.blueprint)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(services.blueprint)
    app.register_blueprint(actions.blueprint)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"csrf_token": app.config["XPM_WEB_CSRF"], "workspace_path": str(source.path),
                "focus": experiment_id}

    return app
