"""Names that become paths (experiment ids, run ids, saved names, tokens, ...): one rule, checked here.

A name is joined into a path below the workspace (``experiments/<id>/<run-id>``), so it must be
a single path component that stays inside it: not empty, not ``.`` or ``..``, no path separator,
no control character (NUL included), at most :data:`MAX_NAME_BYTES` bytes in UTF-8 (what Linux
and macOS file systems accept for one component). docs/workspace.md states the rule for users.
"""

from __future__ import annotations

import os

#: The longest name a file system accepts for one path component (NAME_MAX), in bytes.
MAX_NAME_BYTES = 255
#: What a message shows of a name that is too long or strange (the start, then "...").
_SHOWN = 60


class InvalidNameError(ValueError):
    """A name that cannot become a path component; the message says which name, why, and the rule."""

    def __init__(self, what: str, name: object, reason: str) -> None:
        super().__init__(f"invalid {what} {_show(name)}: {reason}")
        self.what = what
        self.name = name
        self.reason = reason


def _show(name: object) -> str:
    text = repr(name)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _problem(name: object) -> str | None:
    """Why ``name`` cannot be a path component, or None when it can."""
    if not isinstance(name, str):
        return f"a name must be a string, not {type(name).__name__}"
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return f"{name!r} names a directory itself, not a new one"
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    found = sorted(char for char in separators if char in name)
    if found:
        return f"it contains the path separator {found[0]!r} (a name is one path component)"
    for char in name:
        if ord(char) < 32 or ord(char) == 127:
            return f"it contains the control character {char!r} (code {ord(char)})"
        if 0xD800 <= ord(char) <= 0xDFFF:
            return f"it contains the lone surrogate {char!r}, which no file name can hold"
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return f"it is {size} bytes long in UTF-8, more than the {MAX_NAME_BYTES} a file name may have"
    return None


def is_valid_name(name: object) -> bool:
    """Whether ``name`` may become one path component below the workspace."""
    return _problem(name) is None


def check_name(name: object, what: str) -> str:
    """``name`` if it may become one path component; :class:`InvalidNameError` otherwise.

    :param what: what the name is, for the message (``"experiment id"``, ``"run id"``, ...).
    """
    problem = _problem(name)
    if problem is not None:
        raise InvalidNameError(what, name, problem)
    assert isinstance(name, str)
    return name


def check_relative_path(path: str, what: str) -> str:
    """A ``/``-separated path of valid names (a task id folder, ``TASK_ID/HASH``); each part checked."""
    if not isinstance(path, str) or not path:
        raise InvalidNameError(what, path, "it is empty" if path == "" else "a name must be a string")
    for part in path.split("/"):
        problem = _problem(part)
        if problem is not None:
            raise InvalidNameError(what, path, f"its part {_show(part)}: {problem}")
    return path
