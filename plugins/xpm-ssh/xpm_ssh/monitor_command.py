"""``xpm experiments ssh-monitor``: show a remote workspace, served by ``xpm experiments monitor-server`` over SSH.

The remote side needs only xpm-core. Nothing is copied: every list, job and log chunk is
asked for when the monitor shows it, over the monitor protocol on one SSH channel.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Iterator, Optional

import click


@click.command("ssh-monitor")
@click.argument("host", metavar="[USER@]HOST", required=False)
@click.argument("remote_workspace", metavar="REMOTE_WORKSPACE", required=False)
@click.option(
    "--workspace",
    "workspace_id",
    metavar="ID",
    help="A workspace of settings.yaml whose path is ssh://[USER@]HOST[:PORT]/PATH.",
)
@click.option("--remote-xpm", default="xpm", show_default=True, help="The xpm command on the remote host.")
@click.option(
    "--remote-python", metavar="PYTHON", help="Run 'PYTHON -m xpm_core' on the remote host instead of --remote-xpm."
)
@click.option(
    "--remote-shell-init",
    metavar="COMMANDS",
    help="Shell commands run first on the remote host ('module load python').",
)
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds to wait for each remote answer.",
)
@click.option(
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An OpenSSH option, as 'ssh -o' takes it (repeatable): -o Port=2222 -o IdentityFile=~/.ssh/key.",
)
@click.option("--web", is_flag=True, help="Show it in the web UI (needs xpm-web) instead of the console.")
@click.option("--port", type=click.IntRange(1, 65535), help="Port of the web UI (with --web).")
@click.option("--ssh-config", type=click.Path(dir_okay=False), help="An ssh_config file read instead of ~/.ssh/config.")
def ssh_monitor_command(
    host: Optional[str],
    remote_workspace: Optional[str],
    workspace_id: Optional[str],
    remote_xpm: str,
    remote_python: Optional[str],
    remote_shell_init: Optional[str],
    timeout: float,
    options: tuple[str, ...],
    web: bool,
    port: Optional[int],
    ssh_config: Optional[str],
) -> None:
    """Follow the workspace REMOTE_WORKSPACE of HOST (a name of ~/.ssh/config works) until Ctrl-C.

    Runs 'xpm experiments monitor-server' there over SSH (keys or agent, host key checked
    against known_hosts) and opens the console view, or the web UI with --web.
    """
    from xpm_core.plugin import MonitorProtocolError, console_monitor_name, create_monitor, monitor_available
    from xpm_ssh.errors import SshError, SshUnreachableError

    if port is not None and not web:
        raise click.UsageError("--port sets up the web UI: add --web")
    destination = _destination(host, remote_workspace, workspace_id)
    if web and not monitor_available("web"):
        raise click.UsageError("--web needs the web monitor, which is not installed: pip install xpm-web")
    try:
        remote = open_remote_workspace(
            destination["host"],
            destination["path"],
            user=destination.get("user"),
            port=destination.get("port"),
            options=options,
            ssh_config=ssh_config,
            remote_xpm=remote_xpm,
            remote_python=remote_python,
            remote_shell_init=remote_shell_init,
            timeout=timeout,
        )
    except (SshError, SshUnreachableError, MonitorProtocolError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if web:
            monitor = create_monitor("web", remote, **({"port": port} if port else {}))  # type: ignore[arg-type]
        else:
            # The interactive TUI on a terminal when installed, the plain console view otherwise.
            monitor = create_monitor(console_monitor_name(), remote)  # type: ignore[arg-type]
        monitor.run()
    finally:
        remote.close()


def _destination(host: Optional[str], path: Optional[str], workspace_id: Optional[str]) -> dict[str, Any]:
    from xpm_ssh.plugin import parse_url

    if workspace_id is not None:
        if host is not None:
            raise click.UsageError("give either --workspace ID or HOST REMOTE_WORKSPACE, not both")
        from xpm_core.plugin import SettingsError, load_settings

        try:
            workspace = load_settings().workspace(workspace_id)
        except (SettingsError, LookupError) as exc:
            raise click.UsageError(str(exc)) from None
        # settings.yaml paths are read as paths, which fold "ssh://" into "ssh:/"
        url = re.sub(r"^.*?ssh:/+", "ssh://", str(workspace.path))
        parsed = parse_url(url)
        if parsed is None:
            raise click.UsageError(f"workspace {workspace_id!r} is at {workspace.path}, not at an ssh:// location")
        return parsed
    if host is None or path is None:
        raise click.UsageError("give [USER@]HOST and REMOTE_WORKSPACE (or --workspace ID)")
    destination: dict[str, Any] = {"host": host, "path": path}
    if "@" in host:
        destination["user"], destination["host"] = host.split("@", 1)
    return destination


def open_remote_workspace(
    host: str,
    path: str,
    *,
    user: Optional[str] = None,
    port: Optional[int] = None,
    options: tuple[str, ...] = (),
    ssh_config: Optional[str] = None,
    remote_xpm: str = "xpm",
    remote_python: Optional[str] = None,
    remote_shell_init: Optional[str] = None,
    timeout: float = 60.0,
) -> Any:
    """A RemoteWorkspace talking to ``monitor-server`` started on ``host`` over its SSH connection."""
    from xpm_core.plugin import MonitorProtocolError, RemoteWorkspace
    from xpm_ssh.session import Destination, session_for

    session = session_for(Destination(host=host, user=user, port=port, ssh_config=ssh_config, options=tuple(options)))
    if remote_python:
        program = f"{shlex.quote(remote_python)} -m xpm_core"
    else:
        program = " ".join(shlex.quote(word) for word in shlex.split(remote_xpm))
    script = f"exec {program} experiments monitor-server {shlex.quote(path)}"
    if remote_shell_init:
        script = f"{remote_shell_init}\n{script}"
    channel = session.open_channel()
    channel.exec_command(shlex.join(["sh", "-c", script]))
    errors = channel.makefile_stderr("rb")
    where = f"monitor-server on {session.label}:{path}"
    try:
        return RemoteWorkspace(
            _lines(channel), channel.makefile_stdin("wb"), where=where, timeout=timeout, on_close=channel.close
        )
    except MonitorProtocolError as exc:
        detail = ""
        # The server went away before answering hello: its error output says why.
        # Its output can end before its exit status arrives: wait a little for the status.
        if "closed the connection" in str(exc) and channel.status_event.wait(10) and channel.exit_status_ready():
            lines = errors.read().decode(errors="replace").strip().splitlines()
            detail = lines[-1] if lines else f"exit code {channel.recv_exit_status()}"
        channel.close()
        if detail:
            raise MonitorProtocolError(
                f"{where} did not start: {detail} (is xpm-core installed there? see --remote-xpm, "
                "--remote-python, --remote-shell-init)"
            ) from None
        raise


def _lines(channel: Any) -> Iterator[bytes]:
    """The lines the channel receives, read in large pieces (a 10,000-job answer is one 5 MB line,
    which paramiko's file wrapper reads slowly)."""
    pending = bytearray()
    while True:
        try:
            chunk = channel.recv(1 << 20)
        except OSError:
            return
        if not chunk:
            if pending:
                yield bytes(pending)
            return
        start = len(pending)
        pending += chunk
        end = pending.find(b"\n", start)
        while end >= 0:
            yield bytes(pending[: end + 1])
            del pending[: end + 1]
            end = pending.find(b"\n")
