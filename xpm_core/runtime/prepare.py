"""``Prepare`` configurations: work done once in the driver before the tasks that use them run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.config.objects import Config

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin


class Prepare(Config):
    """A configuration whose ``prepare()`` runs once (per identifier) before the jobs using it.

    Override ``is_prepared()`` to skip the work when its result already exists. It runs in the
    driver, and not at all for a job that is already done.
    """

    def prepare(self) -> None:
        """Do the preparation (download, index, ...)."""

    def is_prepared(self) -> bool:
        """Whether ``prepare()`` can be skipped."""
        return False


def prepares_of(task: ConfigMixin) -> list[ConfigMixin]:
    """The ``Prepare`` configurations in ``task``'s parameters (not those of other submitted tasks)."""
    from xpm_core.config.walk import postorder

    found = []
    for config, _ in postorder(task, enter=lambda c: c is task or c.__xpm__.job is None):
        if isinstance(config, Prepare):
            found.append(config)
    return found


def run_prepare(config: ConfigMixin) -> None:
    """Run ``config.prepare()`` unless it says it is prepared already."""
    if not config.is_prepared():
        config.prepare()
