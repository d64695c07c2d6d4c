"""Reading a Sphinx ``objects.inv`` (inventory format version 2: four header lines, then zlib-compressed entries)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import attrs

HEADER = b"# Sphinx inventory version 2"
# "name domain:role priority uri display-name"; a name may contain spaces, so the fields after
# it are matched from the right (the expression Sphinx itself uses).
_ENTRY = re.compile(r"(?x)(.+?)\s+(\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)")


class InventoryError(ValueError):
    """A file that is not a Sphinx inventory this reader understands."""


@attrs.frozen
class InventoryEntry:
    """One documented object."""

    name: str
    domain: str  # "py"
    role: str  # "class", "function", "module", ...
    uri: str


@attrs.frozen
class Inventory:
    """A project's inventory: what its documentation documents."""

    project: str
    version: str
    entries: list[InventoryEntry]

    def python_names(self) -> set[str]:
        """Fully qualified names of the documented Python objects (any role)."""
        return {entry.name for entry in self.entries if entry.domain == "py"}


def read_inventory(path: Path) -> Inventory:
    """Read ``objects.inv``; InventoryError names what is wrong with it."""
    data = path.read_bytes()
    lines = data.split(b"\n", 4)
    if len(lines) < 5 or lines[0].rstrip() != HEADER:
        first = lines[0][:60].decode("utf-8", "replace")
        raise InventoryError(f"{path} is not a Sphinx inventory version 2 (it starts with {first!r})")
    if b"zlib" not in lines[3]:
        raise InventoryError(f"{path}: unsupported inventory (its entries are not zlib-compressed)")
    project = lines[1].decode("utf-8", "replace").removeprefix("# Project:").strip()
    version = lines[2].decode("utf-8", "replace").removeprefix("# Version:").strip()
    try:
        body = zlib.decompress(lines[4]).decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as error:
        raise InventoryError(f"{path}: the compressed entries cannot be read ({error})") from None
    entries = []
    for line in body.splitlines():
        match = _ENTRY.match(line.rstrip())
        if not match:
            continue
        name, kind, _, uri, _ = match.groups()
        domain, _, role = kind.partition(":")
        if not role:
            continue
        if uri.endswith("$"):
            uri = uri[:-1] + name  # "$" abbreviates the object's name
        entries.append(InventoryEntry(name=name, domain=domain, role=role, uri=uri))
    return Inventory(project=project, version=version, entries=entries)

