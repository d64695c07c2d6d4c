"""Before a command answers, the ends nobody recorded (dead jobs, dead drivers) are recorded."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xpm_core.workspace.index import WorkspaceIndex

logger = logging.getLogger(__name__)


def reconcile_quietly(workspace: Path, index: WorkspaceIndex) -> None:
    """:func:`xpm_core.workspace.reconcile.reconcile`, never failing the command (a read-only
    workspace is still listed: its answer is then what the files say, as the index reads them)."""
    from xpm_core.workspace.reconcile import reconcile

    try:
        reconcile(workspace, index)
    except Exception as error:
        logger.debug("could not record dead jobs or drivers in %s: %s", workspace, error)
