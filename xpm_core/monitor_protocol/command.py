"""``xpm experiments monitor-server``: serve a workspace's WorkspaceAPI over the monitor protocol on stdin/stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click


@click.command("monitor-server")
@click.argument("workspace_path", metavar="WORKSPACE", required=False, type=click.Path(file_okay=False))
@click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory (instead of WORKSPACE).")
@click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
def monitor_server_command(workspace_path: Optional[str], workdir: Optional[str], workspace_id: Optional[str]) -> None:
    """Answer the monitor protocol (JSON-RPC 2.0, one message per line) about WORKSPACE on stdin/stdout.

    'xpm experiments ssh-monitor' (xpm-ssh) starts it on a remote host; anything else may talk
    to it too. The protocol is described in docs/monitor_protocol.md. It stops at the end of
    its input or on a 'shutdown' request.
    """
    from xpm_core.cli.workspace_options import existing_workspace, resolve_workspace
    from xpm_core.monitor_protocol.server import MonitorServer
    from xpm_core.plugin.workspace import WorkspaceAPI, WorkspaceAPIError

    if workspace_path is not None:
        path = Path(workspace_path).expanduser()
    else:
        path = Path(resolve_workspace(workdir, workspace_id).path)
    existing_workspace(path)
    try:
        api = WorkspaceAPI(path)
    except WorkspaceAPIError as exc:
        raise click.ClickException(str(exc)) from None
    with api:
        MonitorServer(api, sys.stdin.buffer, sys.stdout.buffer).serve()
