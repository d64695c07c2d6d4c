"""``dirty_git``: what to do when the plan's code has uncommitted changes (run-experiment and ``experiment()``)."""

from __future__ import annotations

import os
import sys
from typing import Iterable, Union


class DirtyGitError(RuntimeError):
    """The plan's code has uncommitted changes and ``dirty_git`` is ``error``: its results could not be
    traced back to a commit."""


def check_dirty_git(paths: Iterable[Union[str, os.PathLike]], action: object, *, setting: str) -> None:
    """Apply ``action`` (a ``DirtyGitAction`` or its value) to the git repositories holding ``paths``.

    ``warn`` prints one line per dirty repository on stderr; ``error`` raises DirtyGitError;
    ``ignore`` does not even look. ``setting`` is how the user changes it, for the message
    (``dirty_git: warn`` in a YAML file, ``dirty_git="warn"`` in Python).
    """
    from xpm_core.experiments.schema import DirtyGitAction
    from xpm_core.runtime.environment import git_projects

    action = DirtyGitAction(getattr(action, "value", action))
    if action is DirtyGitAction.IGNORE:
        return
    for project in git_projects([str(path) for path in paths]):
        if not project["dirty"]:
            continue
        message = f"the code in {project['path']} has uncommitted changes (commit {project['commit_short']})"
        if action is DirtyGitAction.ERROR:
            raise DirtyGitError(f"{message}; commit them, or set {setting}")
        print(f"xpm: warning: {message}: the run cannot be traced back to a commit", file=sys.stderr)
