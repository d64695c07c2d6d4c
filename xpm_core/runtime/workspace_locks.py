"""The ``lock_mode`` of an experiment's workspace: registered for this process, and handed to its jobs.

settings.yaml gives it per workspace; ``XPM_LOCK_MODE`` overrides it. The driver registers the
workspace (its own lock files follow the mode) and gives its jobs ``XPM_LOCK_MODE`` resolved to
an octal mode, so that the lock files they create (partial directories, ``@cache``) follow it too.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpm_core.lock_permissions import INHERIT, LOCK_MODE_ENV, effective_lock_mode, register_workspace

if TYPE_CHECKING:
    from xpm_core.runtime.experiment import experiment


def configured_lock_mode(workdir: Any) -> str | None:
    """The workspace's ``lock_mode`` in settings.yaml (None: not set)."""
    if hasattr(workdir, "lock_mode"):  # a WorkspaceSettings: no need to read the file
        return workdir.lock_mode
    from xpm_core.settings.directory import settings_path  # not settings_file: it imports YAML

    if not settings_path().exists():  # importing and parsing YAML costs: only when there is a file
        return None
    from xpm_core.settings.settings_file import settings_of_workspace

    return settings_of_workspace(workdir).lock_mode


def register(workspace: Path, workdir: Any) -> str:
    """At ``experiment(...)``: lock files this process creates in ``workspace`` follow its lock_mode
    (returned: ``inherit``, ``umask`` or ``0NNN``)."""
    mode = effective_lock_mode(workspace, configured_lock_mode(workdir))
    register_workspace(workspace, mode)
    return mode


def hand_to_jobs(xp: experiment) -> None:
    """At ``__enter__``, once the workspace exists: jobs get ``XPM_LOCK_MODE`` (``inherit`` resolved
    from the workspace folder, which a job process does not know)."""
    mode = xp.lock_mode
    if mode == INHERIT:
        mode = f"0{stat.S_IMODE(xp.workspace.stat().st_mode) & 0o666:03o}"
    xp.env.setdefault(LOCK_MODE_ENV, mode)
