"""``--workdir`` / ``--workspace``: how every command that reads a workspace is told which one."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable

import click


def resolve_workspace(workdir: str | None, workspace_id: str | None, experiment_id: str | None = None) -> Any:
    """The workspace settings to use (path, env, max_retries), as settings.yaml decides.

    ``--workspace ID`` > ``--workdir PATH`` > the first workspace whose triggers match the
    experiment > the first configured workspace. Errors are one line, exit code 2 (a settings
    file that cannot be read is one: docs/settings.md).
    """
    from xpm_core.cli.input_errors import InputError
    from xpm_core.settings.settings_file import SettingsError, UnknownWorkspaceError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        raise InputError(str(error)) from None
    try:
        return settings.find_workspace(workspace_id, workdir, experiment_id)
    except UnknownWorkspaceError as error:
        raise InputError(str(error)) from None


def given_workdir(workdir: str | None, workspace_id: str | None, experiment_id: str | None = None) -> Path:
    """The workspace of a command that only reads it: ``--workdir`` alone needs no settings file.

    Reading settings.yaml would give this very path (settings.find_workspace); not reading it
    spares importing yaml and cattrs, and a broken settings file does not lock a user out.
    """
    if workdir is not None and workspace_id is None:
        return Path(os.path.normpath(Path(workdir).expanduser().absolute()))
    return Path(resolve_workspace(workdir, workspace_id, experiment_id).path)


def existing_workspace(path: Path) -> Path:
    """``path`` if it holds an xpm (or experimaestro) workspace; a clear error otherwise."""
    if not (path / "jobs").is_dir() and not (path / "experiments").is_dir():
        from xpm_core.cli.input_errors import InputError

        raise InputError(f"{path} is not a workspace (no jobs/ nor experiments/ folder in it)")
    return path


def workspace_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--workdir`` and ``--workspace``; the command receives ``workspace`` (a Path)."""

    @click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory.")
    @click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
    @functools.wraps(command)
    def wrapper(*args: Any, workdir: str | None, workspace_id: str | None, **kwargs: Any) -> Any:
        path = given_workdir(workdir, workspace_id, kwargs.get("experiment"))
        return command(*args, workspace=existing_workspace(path), **kwargs)

    return wrapper
