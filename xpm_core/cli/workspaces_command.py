"""``xpm workspaces list``: the workspaces settings.yaml defines, and which one is the default."""

from __future__ import annotations

import click


@click.group("workspaces")
def workspaces_group() -> None:
    """The workspaces of settings.yaml (see docs/settings.md)."""


@workspaces_group.command("list")
@click.option("-v", "--verbose", is_flag=True, help="Also show each workspace's job environment, retries, lock mode and history.")
def list_command(verbose: bool) -> None:
    """List the workspaces of settings.yaml: id, path and triggers; the first is the default.

    With -v, also the environment variables given to the workspace's jobs and its maximum
    number of retries.
    """
    from xpm_core.settings.settings_file import SettingsError, load_settings, settings_path

    try:
        settings = load_settings()
    except SettingsError as error:
        from xpm_core.cli.input_errors import InputError

        raise InputError(str(error)) from None
    source = settings.source or settings_path()
    if not settings.workspaces:
        state = "defines no workspace" if settings.source is not None else "does not exist"
        click.echo(f"No workspace configured: {source} {state} (see docs/settings.md).")
        return
    click.echo(f"Workspaces of {source}:")
    for position, workspace in enumerate(settings.workspaces):
        default = " (default)" if position == 0 else ""
        missing = "" if workspace.path.is_dir() else " (folder missing)"
        click.echo(f"{workspace.id}{default}: {workspace.path}{missing}")
        if workspace.triggers:
            click.echo(f"  triggers: {', '.join(workspace.triggers)}")
        if verbose:
            click.echo(f"  max retries: {workspace.max_retries}")
            env = {**settings.env, **workspace.env}
            for name, value in sorted(env.items()):
                origin = "" if name in workspace.env else " (global)"
                click.echo(f"  env {name}={value}{origin}")
            click.echo(f"  lock mode: {workspace.lock_mode or 'inherit (default)'}")
            click.echo(f"  history: keeps {workspace.history.max_done} done and {workspace.history.max_failed} "
                       "failed runs per experiment")
