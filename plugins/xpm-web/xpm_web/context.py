"""What every view of the app reaches: the workspace source, the change feed, the action log."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator, Optional

import attrs
from flask import current_app

from xpm_web.changes import ChangeFeed
from xpm_web.workspaces import WorkspaceSource

#: Where actions (kill, clean) and refusals are logged.
logger = logging.getLogger("xpm.web")


@attrs.define
class WebState:
    """The app's own objects, kept in ``app.extensions["xpm_web"]``."""

    source: WorkspaceSource
    changes: ChangeFeed
    experiment_id: Optional[str] = None
    run_id: Optional[str] = None
    #: Seconds between two polls of the change token (by whoever polls).
    poll_interval: float = 0.25


def state() -> WebState:
    return current_app.extensions["xpm_web"]


@contextlib.contextmanager
def workspace() -> Iterator[Any]:
    """This thread's WorkspaceAPI (or the shared remote one, used by one request at a time)."""
    source = state().source
    if source.shared:
        with source.lock:
            yield source.api()
    else:
        yield source.api()


def plain(record: Any) -> Any:
    """A WorkspaceAPI record (or a list, dict of them) as JSON values."""
    if attrs.has(type(record)):
        return attrs.asdict(record, recurse=True)
    if isinstance(record, list):
        return [plain(item) for item in record]
    if isinstance(record, dict):
        return {key: plain(value) for key, value in record.items()}
    return record
