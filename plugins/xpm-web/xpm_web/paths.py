"""Which files of a job folder the web monitor may serve: only regular files inside the folder."""

from __future__ import annotations

import os
from pathlib import Path


class UnsafePathError(ValueError):
    """A requested file path that could leave the job folder (or is not a plain relative path)."""


def file_in_folder(folder: str | os.PathLike, relative: str) -> Path:
    """The file ``relative`` names inside ``folder``, refusing anything that could leave it.

    Refused: absolute paths, ``..`` or empty components, backslashes, NUL, ``%`` (a path left
    encoded, or encoded twice, to slip past a check), and symbolic links that end outside the
    folder. Raises :class:`UnsafePathError` (refused) or :class:`FileNotFoundError`.
    """
    if not relative or relative.startswith("/") or any(char in relative for char in "\\\x00%"):
        raise UnsafePathError(f"refused file path {relative!r}: give a plain path inside the job folder")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePathError(f"refused file path {relative!r}: '..', '.' and empty parts are not allowed")
    root = Path(os.path.realpath(folder))
    target = Path(os.path.realpath(root.joinpath(*parts)))
    if target != root and root not in target.parents:
        raise UnsafePathError(f"refused file path {relative!r}: it leads outside the job folder")
    if not target.is_file():
        raise FileNotFoundError(f"no file {relative!r} in the job folder")
    return target
