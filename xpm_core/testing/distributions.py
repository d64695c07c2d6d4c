"""Make a plugin distribution visible to importlib.metadata without pip: a ``*.dist-info`` folder.

Tests use it to exercise loading (broken plugins, allow-lists, conflicts) with real entry points.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping


def write_distribution(
    site_dir: Path,
    name: str,
    *,
    version: str = "0.1.0",
    entry_points: Mapping[str, str],
    modules: Mapping[str, str] | None = None,
) -> Path:
    """Write a minimal installed distribution into ``site_dir`` (a folder put on ``sys.path``).

    :param name: the distribution name, e.g. ``"xpm-foo"``.
    :param entry_points: ``{"foo": "xpm_foo.plugin"}`` entries of the ``xpm`` group.
    :param modules: optional ``{"xpm_foo/plugin.py": source}`` files written beside it.
    :returns: the ``.dist-info`` folder.
    """
    site_dir.mkdir(parents=True, exist_ok=True)
    normalized = re.sub(r"[-_.]+", "_", name)
    info = site_dir / f"{normalized}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[xpm]", *(f"{ep} = {target}" for ep, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for relative, source in (modules or {}).items():
        path = site_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return info
