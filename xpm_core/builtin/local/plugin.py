"""Built-in plugin for the local machine: the ``local`` connector and the ``direct`` launcher."""

from __future__ import annotations

import re
from typing import Iterator

from xpm_core.plugin.components import ConnectorMatch, ConnectorType, LauncherType
from xpm_core.plugin.hookspecs import hookimpl

# "scheme://..." where the scheme follows RFC 3986; a Windows drive letter is not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


@hookimpl(trylast=True)
def xpm_connector_for_url(url: str) -> ConnectorMatch | None:
    match = _SCHEME.match(url)
    if match is None:
        return ConnectorMatch(name="local", options={"path": url})
    if match.group(1).lower() == "file":
        return ConnectorMatch(name="local", options={"path": url[len(match.group(0)) :]})
    return None


@hookimpl
def xpm_connectors() -> Iterator[ConnectorType]:
    yield ConnectorType(
        name="local",
        factory="xpm_core.builtin.local.connector:LocalConnector",
        summary="The machine xpm runs on",
    )


@hookimpl
def xpm_launchers() -> Iterator[LauncherType]:
    yield LauncherType(
        name="direct",
        factory="xpm_core.builtin.local.direct_launcher:DirectLauncher",
        settings="xpm_core.builtin.local.direct_launcher:DirectSettings",
        summary="Run each job as a process of the connector's host",
    )
