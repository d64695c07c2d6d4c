"""Built-in plugin for the local machine: paths and ``file://`` URLs go to the ``local`` connector."""

from __future__ import annotations

import re

from xpm_core.components import ConnectorMatch
from xpm_core.hookspecs import hookimpl

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
