"""Permissions of the lock files xpm creates in a workspace (``lock_mode``, ``XPM_LOCK_MODE``).

In a workspace shared by a group, every member must be able to open the lock files the
others created. ``lock_mode`` (per workspace in settings.yaml, overridden by the environment
variable ``XPM_LOCK_MODE``) says which permissions a new lock file gets:

- ``inherit`` (default): the read/write bits of the workspace directory (a ``2775`` workspace
  gives ``0664`` locks, whatever the umask);
- ``umask``: ``0666`` minus the process's umask (what a plain ``open`` gives);
- an octal mode such as ``"0664"``: exactly that.

Standard library only: job processes import this module.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Union

#: Environment variable overriding every workspace's ``lock_mode``.
LOCK_MODE_ENV = "XPM_LOCK_MODE"
INHERIT = "inherit"
UMASK = "umask"
DEFAULT_LOCK_MODE = INHERIT

_OCTAL = re.compile(r"0?[0-7]{3}")

#: Workspace roots opened by this process -> their lock_mode (the innermost root wins).
_workspaces: dict[Path, str] = {}


def check_lock_mode(value: Union[str, int]) -> str:
    """The normalized ``lock_mode`` (``inherit``, ``umask`` or ``0NNN``); ValueError saying what is valid.

    An integer is a mode already (YAML reads an unquoted ``0664`` as the octal number).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected inherit, umask or an octal mode such as \"0664\", found {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 0o777:
            raise ValueError(f"expected an octal mode from 0000 to 0777, found {value:#o}")
        return f"0{value:03o}"
    text = str(value).strip().lower()
    if text in (INHERIT, UMASK):
        return text
    if _OCTAL.fullmatch(text):
        return f"0{text[-3:]}"
    raise ValueError(f"expected inherit, umask or an octal mode such as \"0664\", found {value!r}")


def register_workspace(workspace: Union[str, os.PathLike], lock_mode: str | None) -> None:
    """Lock files created under ``workspace`` from now on follow ``lock_mode`` (None: the default)."""
    _workspaces[Path(workspace).absolute()] = check_lock_mode(lock_mode or DEFAULT_LOCK_MODE)


def effective_lock_mode(workspace: Union[str, os.PathLike], lock_mode: str | None) -> str:
    """The lock mode that applies in ``workspace``: ``XPM_LOCK_MODE`` if set, else ``lock_mode``."""
    override = os.environ.get(LOCK_MODE_ENV)
    if override:
        try:
            return check_lock_mode(override)
        except ValueError as error:
            raise ValueError(f"{LOCK_MODE_ENV}={override!r}: {error}") from None
    return check_lock_mode(lock_mode or DEFAULT_LOCK_MODE)


def lock_file_mode(path: Union[str, os.PathLike]) -> int | None:
    """The permissions a new lock file at ``path`` gets; None: the umask decides (plain ``open``)."""
    path = Path(path).absolute()
    root = max((w for w in _workspaces if w == path or w in path.parents), key=lambda w: len(w.parts), default=None)
    override = os.environ.get(LOCK_MODE_ENV)
    if override:
        try:
            mode = check_lock_mode(override)
        except ValueError:
            return None  # reported where the experiment starts; a lock must still be taken
    elif root is not None:
        mode = _workspaces[root]
    else:
        return None
    if mode == UMASK:
        return None
    if mode == INHERIT:
        source = root if root is not None else path.parent
        try:
            return stat.S_IMODE(source.stat().st_mode) & 0o666
        except OSError:
            return None
    return int(mode, 8)


def open_lock_file(path: Union[str, os.PathLike]) -> int:
    """``os.open(path, O_RDWR | O_CREAT)``; a file this call creates gets the workspace's lock mode."""
    mode = lock_file_mode(path)
    if mode is None:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            try:
                return os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # removed in between (a cleanup): create it after all
    try:
        os.fchmod(fd, mode)  # not through open's mode argument: the umask would mask it
    except OSError:
        pass  # a file system without permissions (some network mounts): the lock works anyway
    return fd
