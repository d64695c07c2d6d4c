"""The ``xpm slurm`` commands: the cluster as the launcher sees it (partitions, limits, a check)."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import click

from xpm_core.plugin import CommandError, Connector

#: One line per group of nodes alike within a partition: the partition name (``*`` marks the
#: default), availability, time limit, default time, node count, CPUs and memory (MB) per node,
#: generic resources (GPUs), node counts allocated/idle/other/total, node names.
SINFO_FORMAT = "%P|%a|%l|%L|%D|%c|%m|%G|%F|%N"


@attrs.define
class Partition:
    """A partition and its limits, merged over its groups of nodes."""

    name: str
    default: bool
    available: str
    time_limit: str
    default_time: str
    nodes: int = 0
    cpus_per_node: list[str] = attrs.field(factory=list)
    memory_mb_per_node: list[str] = attrs.field(factory=list)
    gres: list[str] = attrs.field(factory=list)
    nodes_allocated: int = 0
    nodes_idle: int = 0
    nodes_other: int = 0
    node_names: list[str] = attrs.field(factory=list)


def _add(values: list[str], value: str) -> None:
    if value and value != "(null)" and value not in values:
        values.append(value)


def parse_sinfo(output: str) -> list[Partition]:
    """Partitions from ``sinfo --noheader --format=SINFO_FORMAT``, in sinfo's order."""
    partitions: dict[str, Partition] = {}
    for line in output.splitlines():
        fields = line.split("|")
        if len(fields) != 10:
            continue
        name, available, limit, default_time, count, cpus, memory, gres, states, nodes = fields
        default = name.endswith("*")
        name = name.rstrip("*")
        partition = partitions.setdefault(
            name,
            Partition(name, default, available, limit, "" if default_time == "n/a" else default_time),
        )
        partition.nodes += int(count)
        allocated, idle, other, _total = (int(part) for part in states.split("/"))
        partition.nodes_allocated += allocated
        partition.nodes_idle += idle
        partition.nodes_other += other
        _add(partition.cpus_per_node, cpus)
        _add(partition.memory_mb_per_node, memory)
        _add(partition.gres, gres)
        _add(partition.node_names, nodes)
    return list(partitions.values())


def _connector() -> Connector:
    from xpm_core.plugin import get_registry

    return get_registry().connectors()["local"].create()


def _run(connector: Connector, args: list[str]) -> str:
    try:
        return connector.run(args, timeout=60).check(" ".join(args)).stdout
    except FileNotFoundError:
        raise click.ClickException(
            f"{args[0]} is not installed here (or not on PATH): is this a Slurm login node? "
            "Use --binpath to name the folder of the Slurm commands"
        ) from None
    except CommandError as error:
        raise click.ClickException(str(error)) from None


def _binpath_option(function: Any) -> Any:
    return click.option(
        "--binpath",
        default="",
        metavar="DIR",
        help="Folder holding sinfo, sacct, ... (default: found on PATH), like the binpath setting.",
    )(function)


@click.group(name="slurm")
def slurm_group() -> None:
    """The Slurm cluster as xpm's slurm launcher sees it."""


@slurm_group.command(name="partitions")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@_binpath_option
def partitions_command(as_json: bool, binpath: str) -> None:
    """List partitions: time limits, nodes, CPUs and memory per node, GPUs (gres), node states."""
    prefix = binpath.rstrip("/") + "/" if binpath else ""
    output = _run(_connector(), [f"{prefix}sinfo", "--noheader", f"--format={SINFO_FORMAT}"])
    partitions = parse_sinfo(output)
    if as_json:
        click.echo(json.dumps([attrs.asdict(partition) for partition in partitions], indent=2))
        return
    header = (
        "PARTITION",
        "STATE",
        "TIME LIMIT",
        "DEFAULT TIME",
        "NODES",
        "IDLE",
        "CPUS/NODE",
        "MEM/NODE",
        "GRES",
    )
    rows = [
        (
            partition.name + (" (default)" if partition.default else ""),
            partition.available,
            partition.time_limit,
            partition.default_time or "-",
            str(partition.nodes),
            str(partition.nodes_idle),
            ",".join(partition.cpus_per_node) or "-",
            ",".join(f"{memory} MB" for memory in partition.memory_mb_per_node) or "-",
            ",".join(partition.gres) or "-",
        )
        for partition in partitions
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@slurm_group.command(name="check")
@_binpath_option
def check_command(binpath: str) -> None:
    """Check what the launcher relies on: the commands, accounting (sacct), MaxArraySize."""
    connector = _connector()
    prefix = binpath.rstrip("/") + "/" if binpath else ""
    version = _run(connector, [f"{prefix}sinfo", "--version"]).strip()
    click.echo(f"commands: {version} ({prefix or 'on PATH'})")
    config = _run(connector, [f"{prefix}scontrol", "show", "config"])
    match = re.search(r"^\s*MaxArraySize\s*=\s*(\d+)", config, re.MULTILINE)
    click.echo(f"job arrays: up to {match.group(1) if match else 'an unknown number of'} tasks per array")
    result = connector.run(
        [f"{prefix}sacct", "--noheader", "--allocations", "--starttime=now", "--format=JobID"], timeout=60
    )
    if result.returncode == 0:
        click.echo("accounting: sacct answers; jobs are followed with sacct")
    else:
        reason = (result.stderr or result.stdout).strip().splitlines()
        click.echo(
            f"accounting: sacct fails ({reason[-1] if reason else 'no output'}); jobs are followed "
            "with squeue, and a job's exit code is known only from its marker files"
        )
