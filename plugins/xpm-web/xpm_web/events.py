"""The event stream (server-sent events) that makes the pages live without polling the server."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterator, Optional

from flask import Blueprint, Response, request

from xpm_web.context import state, workspace

blueprint = Blueprint("events", __name__, url_prefix="/api")

#: Seconds between two comments that keep an idle stream open (and find closed connections).
KEEPALIVE = 10.0
#: Seconds between two looks at a followed job's log sizes.
LOG_INTERVAL = 0.25
#: A stream ends after this many seconds; the browser reconnects at once (frees server threads
#: held by pages that vanished without closing their connection).
LIFETIME = 300.0


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _log_sizes(paths: dict[str, str]) -> dict[str, int]:
    sizes = {}
    for stream, path in paths.items():
        try:
            sizes[stream] = os.stat(path).st_size
        except OSError:
            sizes[stream] = -1
    return sizes


@blueprint.get("/events")
def events() -> Response:
    """``change`` events when the workspace index changes; with ``?job=TASK_ID/HASH``, ``log``
    events when that job's stdout or stderr grows."""
    web = state()
    feed, interval = web.changes, web.poll_interval
    logs: dict[str, str] = {}
    reference: Optional[str] = request.args.get("job")
    if reference and not web.source.shared:  # a remote job's logs are not files here
        with workspace() as api:
            detail = api.job(reference)
        logs = {"stdout": detail.stdout_path, "stderr": detail.stderr_path}

    def stream() -> Iterator[str]:
        version = feed.version
        sizes = _log_sizes(logs)
        started = last_sent = time.monotonic()
        yield "retry: 1000\n" + _event("hello", {"version": version, "poll": interval})
        while not feed.closed and time.monotonic() - started < LIFETIME:
            new = feed.wait(version, LOG_INTERVAL if logs else KEEPALIVE)
            now = time.monotonic()
            if new != version:
                version = new
                last_sent = now
                yield _event("change", {"version": version})
            if logs:
                current = _log_sizes(logs)
                for name, size in current.items():
                    if size != sizes[name]:
                        last_sent = now
                        yield _event("log", {"stream": name, "size": size})
                sizes = current
            if now - last_sent >= KEEPALIVE:
                last_sent = now
                yield ": keep-alive\n\n"

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response
