"""experimaestro's settings.yaml keys that xpm reads but does not act on: dropped with a warning naming each.

An experimaestro settings file must stay readable as it is: what xpm has no use for is
reported (one line per key, once per process), never refused. xpm's own keys keep their
strict checks (an unknown key is still an error).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

#: Top-level keys: why xpm ignores them.
IGNORED_TOP_LEVEL = {
    "carbon": "carbon tracking is not part of xpm",
}
#: Keys of a workspace: why xpm ignores them.
IGNORED_IN_WORKSPACE = {
    "folders": "attached folders (beta in experimaestro) are not supported by xpm",
    "alt_workspaces": "alternative workspaces (deprecated in experimaestro) are not supported by xpm",
    "ssh": "remote workspaces of settings.yaml are not supported by xpm: use `xpm experiments ssh-monitor`",
}
#: Keys of ``server:``: why xpm ignores them.
IGNORED_IN_SERVER = {
    "autohost": "xpm's web monitor listens on `host` (default 127.0.0.1)",
}

_warned: set[tuple[str, str]] = set()


def drop_ignored_keys(data: dict[str, Any], source: Path) -> dict[str, Any]:
    """``data`` without the keys xpm ignores; a warning on stderr names each one (once per process)."""
    data = _without(data, IGNORED_TOP_LEVEL, "", source)
    server = data.get("server")
    if isinstance(server, dict):
        data["server"] = _without(server, IGNORED_IN_SERVER, "server.", source)
    workspaces = data.get("workspaces")
    if isinstance(workspaces, list):
        data["workspaces"] = [
            _without(workspace, IGNORED_IN_WORKSPACE, f"workspaces[{position}].", source)
            if isinstance(workspace, dict)
            else workspace
            for position, workspace in enumerate(workspaces)
        ]
    return data


def _without(mapping: dict[str, Any], ignored: dict[str, str], prefix: str, source: Path) -> dict[str, Any]:
    kept = dict(mapping)
    for key, reason in ignored.items():
        if key in kept:
            del kept[key]
            _warn(source, f"{prefix}{key}", reason)
    return kept


def _warn(source: Path, key: str, reason: str) -> None:
    if (str(source), key) in _warned:
        return
    _warned.add((str(source), key))
    print(f"xpm: warning: {source}: {key}: ignored; {reason}", file=sys.stderr)
