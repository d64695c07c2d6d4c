"""The ``xpm oar`` commands: the cluster as the launcher sees it (queues, resources)."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

import attrs
import click

from xpm_core.plugin import CommandError, Connector

#: Resource fields OAR itself maintains: not properties a job would filter on with ``-p``.
SYSTEM_FIELDS = frozenset(
    {
        "resource_id", "network_address", "state", "next_state", "finaud_decision",
        "next_finaud_decision", "state_num", "suspended_jobs", "scheduler_priority", "cpuset",
        "besteffort", "deploy", "expiry_date", "desktop_computing", "last_job_date",
        "available_upto", "last_available_upto", "drain", "type", "jobs",
    }
)  # fmt: skip


@attrs.define
class Queue:
    """An OAR queue (``oarnotify -l``)."""

    name: str
    priority: int | None = None
    scheduler: str = ""
    state: str = ""


@attrs.define
class Host:
    """The resources of one host, as ``-l host=1/core=N`` or ``-l host=1/gpu=N`` sees them."""

    host: str
    states: list[str] = attrs.field(factory=list)
    resources: int = 0
    cores: int = 0
    gpus: int = 0
    besteffort: bool = False
    #: Other properties (usable in ``-p``): name -> the distinct values on this host.
    properties: dict[str, list[Any]] = attrs.field(factory=dict)


def parse_queues(output: str) -> list[Queue]:
    """Queues from ``oarnotify -l`` (a name line, then indented ``key = value`` lines)."""
    queues: list[Queue] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            queues.append(Queue(line.strip()))
            continue
        if not queues:
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "priority":
            queues[-1].priority = int(value) if value.lstrip("-").isdigit() else None
        elif key in ("scheduler", "state"):
            setattr(queues[-1], key, value)
    return queues


def _distinct(values: Iterable[Any]) -> set[Any]:
    return {value for value in values if value not in (None, "", 0, "0")}


def parse_resources(output: str) -> list[Host]:
    """Hosts from ``oarnodes -J`` (one record per resource: core, GPU ...), by host."""
    data: Mapping[str, Mapping[str, Any]] = json.loads(output) if output.strip() else {}
    by_host: dict[str, list[Mapping[str, Any]]] = {}
    for record in data.values():
        by_host.setdefault(str(record.get("host") or record.get("network_address") or "?"), []).append(record)
    hosts = []
    for name, records in sorted(by_host.items()):
        properties: dict[str, list[Any]] = {}
        for record in records:
            for key, value in record.items():
                if key in SYSTEM_FIELDS or key in ("host",) or value in (None, ""):
                    continue
                if value not in properties.setdefault(key, []):
                    properties[key].append(value)
        hosts.append(
            Host(
                host=name,
                states=sorted({str(record.get("state", "")) for record in records}),
                resources=len(records),
                cores=len(
                    _distinct((record.get("cpu"), record.get("core")) for record in records if record.get("core"))
                ),
                gpus=len(_distinct(record.get("gpu") for record in records)),
                besteffort=any(record.get("besteffort") == "YES" for record in records),
                properties={key: sorted(values, key=str) for key, values in sorted(properties.items())},
            )
        )
    return hosts


def _connector() -> Connector:
    from xpm_core.plugin import get_registry

    return get_registry().connectors()["local"].create()


def _run(args: list[str], what: str) -> str:
    try:
        return _connector().run(args, timeout=60).check(" ".join(args)).stdout
    except FileNotFoundError:
        raise click.ClickException(
            f"{args[0]} is not installed here (or not on PATH): is this an OAR frontend? "
            "Use --binpath to name the folder of the OAR commands"
        ) from None
    except CommandError as error:
        raise click.ClickException(f"cannot list {what}: {error}") from None


def _binpath_option(function: Any) -> Any:
    return click.option(
        "--binpath",
        default="",
        metavar="DIR",
        help="Folder holding oarnodes, oarnotify ... (default: found on PATH), like the binpath setting.",
    )(function)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.group(name="oar")
def oar_group() -> None:
    """The OAR cluster as xpm's oar launcher sees it."""


@oar_group.command(name="queues")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@_binpath_option
def queues_command(as_json: bool, binpath: str) -> None:
    """List the queues (name, priority, state) that the launcher's queue option may name.

    Reads ``oarnotify -l``, which OAR lets its administrators (and root) run.
    """
    prefix = binpath.rstrip("/") + "/" if binpath else ""
    queues = parse_queues(_run([f"{prefix}oarnotify", "-l"], "the queues (oarnotify -l needs OAR admin rights)"))
    if as_json:
        click.echo(json.dumps([attrs.asdict(queue) for queue in queues], indent=2))
        return
    rows = [(q.name, "-" if q.priority is None else str(q.priority), q.state, q.scheduler) for q in queues]
    _table(("QUEUE", "PRIORITY", "STATE", "SCHEDULER"), rows)


@oar_group.command(name="resources")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@_binpath_option
def resources_command(as_json: bool, binpath: str) -> None:
    """List hosts: states, cores and GPUs (for -l host=1/core=N or gpu=N), properties (for -p)."""
    prefix = binpath.rstrip("/") + "/" if binpath else ""
    hosts = parse_resources(_run([f"{prefix}oarnodes", "-J"], "the resources"))
    if as_json:
        click.echo(json.dumps([attrs.asdict(host) for host in hosts], indent=2))
        return
    rows = [
        (
            host.host,
            ",".join(host.states),
            str(host.cores),
            str(host.gpus),
            "yes" if host.besteffort else "no",
            " ".join(f"{key}={','.join(map(str, values))}" for key, values in host.properties.items()) or "-",
        )
        for host in hosts
    ]
    _table(("HOST", "STATE", "CORES", "GPUS", "BESTEFFORT", "PROPERTIES"), rows)
