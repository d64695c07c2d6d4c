"""xpm-ssh's entry module: declares the ``ssh`` connector, ``ssh://`` locations and ``xpm experiments ssh-monitor``."""

from __future__ import annotations

import re
from typing import Iterator

from xpm_core.plugin import CommandType, ConnectorMatch, ConnectorType, hookimpl

# ssh://[user@]host[:port]/absolute/path (host may be an alias of ~/.ssh/config)
_URL = re.compile(r"^ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+)(?::(?P<port>\d+))?(?P<path>/.*)?$", re.IGNORECASE)


def parse_url(url: str) -> dict[str, object] | None:
    """The connector options of an ``ssh://`` URL, or None when ``url`` is not one."""
    match = _URL.match(url)
    if match is None:
        return None
    options: dict[str, object] = {"host": match["host"], "path": match["path"] or "/"}
    if match["user"]:
        options["user"] = match["user"]
    if match["port"]:
        options["port"] = int(match["port"])
    return options


@hookimpl
def xpm_connector_for_url(url: str) -> ConnectorMatch | None:
    options = parse_url(url)
    return None if options is None else ConnectorMatch(name="ssh", options=options)


@hookimpl
def xpm_connectors() -> Iterator[ConnectorType]:
    yield ConnectorType(
        name="ssh",
        factory="xpm_ssh.connector:SshConnector",
        summary="A host reached over SSH (files by SFTP, jobs by exec channels, one connection per host)",
    )


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="ssh-monitor",
        factory="xpm_ssh.monitor_command:ssh_monitor_command",
        summary="Follow a remote workspace over SSH (console view, or the web UI with --web)",
        parent="experiments",
    )
