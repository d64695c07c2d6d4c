"""Getting a launcher ready before its first job: the local fork server starts while the run opens."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import Launcher

logger = logging.getLogger("xpm.scheduler")


def warm_up_launcher(launcher: Launcher) -> None:
    """Jobs are about to be submitted to ``launcher``: let it get ready to start them (the direct
    launcher on this machine starts its fork server) while the run opens and tasks are sealed.

    Only launchers with a ``warm_up()`` method do anything; it must be cheap and not block.
    """
    warm_up = getattr(launcher, "warm_up", None)
    if warm_up is None:
        return
    try:
        warm_up()
    except Exception as exc:  # only an optimisation: the job starts the usual way
        logger.debug("warming up %r failed: %s", launcher, exc)


def warm_up_default_launcher() -> None:
    """As :func:`warm_up_launcher` for the default launcher (direct, on this machine) without
    building it: that reads the plugin registry, which an experiment without jobs never needs."""
    from xpm_core.builtin.local.fork_server import warm_up_default

    warm_up_default()
