"""``--workdir`` / ``--workspace``: how every command that reads a workspace is told which one."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import click


def resolve_workspace(workdir: str | None, workspace_id: str | None, experiment_id: str | None = None) -> Any:
    """The workspace settings to use (path, env, max_retries), as settings.yaml decides.

    ``--workspace ID`` > ``--workdir PATH`` > the first workspace whose triggers match the
    experiment > the first configured workspace. Errors become one-line usage errors.
    """
    from xpm_core.settings.settings_file import SettingsError, UnknownWorkspaceError, WorkspaceSettings, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        if workdir is None or workspace_id is not None:
            raise click.ClickException(str(error)) from None
        # The workspace is given: a broken settings file must not lock the user out of it.
        click.echo(f"xpm: warning: settings ignored: {error}", err=True)
        path = Path(workdir).expanduser().absolute()
        return WorkspaceSettings(id=str(path), path=path)
    try:
        return settings.find_workspace(workspace_id, workdir, experiment_id)
    except UnknownWorkspaceError as error:
        raise click.UsageError(str(error)) from None


def existing_workspace(path: Path) -> Path:
    """``path`` if it holds an xpm (or experimaestro) workspace; a clear error otherwise."""
    if not (path / "jobs").is_dir() and not (path / "experiments").is_dir():
        raise click.UsageError(f"{path} is not a workspace (no jobs/ nor experiments/ folder in it)")
    return path


def workspace_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--workdir`` and ``--workspace``; the command receives ``workspace`` (a Path)."""

    @click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory.")
    @click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
    @functools.wraps(command)
    def wrapper(*args: Any, workdir: str | None, workspace_id: str | None, **kwargs: Any) -> Any:
        settings = resolve_workspace(workdir, workspace_id, kwargs.get("experiment"))
        return command(*args, workspace=existing_workspace(settings.path), **kwargs)

    return wrapper
