"""``xpm experiments services list/start``: the services a run registered, and starting one again."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any, Optional

import click

from xpm_core.cli.input_errors import InputError
from xpm_core.cli.run_selection import pass_group_defaults, run_directory
from xpm_core.cli.workspace_options import workspace_options

RUN_OPTION = click.option("--run", "run_id", metavar="RUN_ID", help="A run of the experiment (default: the latest).")


@click.group("services", short_help="List and start the services a run registered.")
@click.pass_context
def services_group(ctx: click.Context) -> None:
    """The services an experiment registered with xp.add_service (TensorBoard, a dashboard...).

    The plan's driver stops its services when it ends; "start" runs one again, from its
    recorded class and arguments, until Ctrl-C.
    """
    pass_group_defaults(ctx)


@services_group.command("list")
@click.argument("experiment")
@RUN_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per service (id, description, state, url, ...).")
@workspace_options
def list_command(workspace: Path, experiment: str, run_id: Optional[str], as_json: bool) -> None:
    """List the services of EXPERIMENT's run: id, state, URL and description.

    Sub-services of a composite service are listed as PARENT/SUB.
    """
    from xpm_core.services.records import service_rows

    run_dir = run_directory(workspace, experiment, run_id)
    rows = service_rows(run_dir)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo(f"No service in run {run_dir.name} of {experiment}.")
        return
    width = max(len(row["id"]) for row in rows)
    for row in rows:
        state = row["state"]
        where = row["url"] or "-"
        detail = f"  ({row['error']})" if row.get("error") and state == "ERROR" else ""
        click.echo(f"{row['id']:{width}}  {state:8}  {where}  {row['description']}{detail}")


@services_group.command("start")
@click.argument("experiment")
@click.argument("service_id")
@RUN_OPTION
@workspace_options
def start_command(workspace: Path, experiment: str, service_id: str, run_id: Optional[str]) -> None:
    """Start SERVICE_ID of EXPERIMENT's run in the foreground, print its URL, stop it on Ctrl-C.

    The service is created again from the class and arguments the run recorded: its module must
    be importable (run from the plan's folder, or set PYTHONPATH). Its logs go to the run's
    services/SERVICE_ID/ folder.
    """
    from xpm_core.services.records import UnknownServiceError, read_state, recreate_service, service_directory
    from xpm_core.services.service import ServiceListener, ServiceState

    run_dir = run_directory(workspace, experiment, run_id)
    try:
        service_directory(run_dir, service_id)
        current = read_state(run_dir, service_id)
        service = recreate_service(run_dir, service_id)
    except UnknownServiceError as error:
        raise InputError(str(error)) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if current["state"] in ("STARTING", "RUNNING"):
        raise click.ClickException(
            f"service {service_id} is already {current['state'].lower()} (process {current['pid']})"
            + (f" at {current['url']}" if current.get("url") else "") + ": stop it there first"
        )

    ended = threading.Event()

    class Ended(ServiceListener):
        def service_state_changed(self, service: Any) -> None:
            if service.state in (ServiceState.STOPPED, ServiceState.ERROR):
                ended.set()

    _stop_on_sigterm()
    service.add_listener(Ended())  # before the start: an end right after it is not missed
    try:
        try:
            url = service.start()
        except Exception as error:
            raise click.ClickException(
                f"service {service_id} did not start: {error} (logs: {service.stderr})"
            ) from None
        click.echo(f"Service {service_id} is running" + (f" at {url}" if url else ""))
        click.echo("Press Ctrl-C to stop it.", err=True)
        try:
            while not ended.wait(0.5):
                pass
        except KeyboardInterrupt:
            click.echo(f"Stopping service {service_id}...", err=True)
    finally:
        service.stop()
    if service.state is ServiceState.ERROR:
        raise click.ClickException(f"service {service_id} ended: {service.error}")
    click.echo(f"Service {service_id} stopped.", err=True)


def _stop_on_sigterm() -> None:
    """SIGTERM stops the service as Ctrl-C does (a server process must not outlive the command)."""

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
