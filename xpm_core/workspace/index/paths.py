"""Job folders as the index stores them: relative to the workspace when inside it, so that a moved
workspace keeps its index."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union


def stored_path(workspace: Path, path: Union[str, os.PathLike]) -> str:
    """``path`` as the index stores it."""
    path = Path(path)
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def folder_prefix(workspace: Path) -> str:
    """What turns a stored relative path into a full one (``prefix + stored``): plain strings,
    as listings do it 100,000 times."""
    return str(workspace) + os.sep


def full_path(prefix: str, stored: str) -> str:
    return stored if stored.startswith(os.sep) else prefix + stored
