"""Structuring YAML data into attrs classes with cattrs, with errors naming the key and the problem.

Shared by settings.yaml and run-experiment's YAML files: strict value hooks (no silent
coercion of ``yes`` into a string) and a walk of cattrs' grouped errors into one line per
problem: ``workspaces[1].pathh: unknown key (did you mean 'path'?)``.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import attrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError


class WrongValue(TypeError):
    """A value that does not fit its field; the message says what was expected and found."""


def describe(value: Any) -> str:
    """How a YAML value reads in an error message: ``a string ('x')``, ``a list``..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def structure_string(value: Any, _: type) -> str:
    """cattrs hook: a string, nothing else."""
    if not isinstance(value, str):
        raise WrongValue(f"expected a string, found {describe(value)}")
    return value


def structure_integer(value: Any, _: type) -> int:
    """cattrs hook: an integer (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongValue(f"expected an integer, found {describe(value)}")
    return value


def join(path: str, key: Any) -> str:
    """``path`` extended by a key (``a.b``) or an index (``a[2]``)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def unknown_key(key: str, valid: list[str]) -> str:
    """The message for an unknown key: the closest valid key, or the list of valid keys."""
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key; valid keys: {', '.join(valid)}"


def problems(
    error: BaseException,
    path: str = "",
    *,
    valid_keys: Callable[[type], list[str]] = lambda cls: list(attrs.fields_dict(cls)),
    root: str = "",
    plain: tuple[type[BaseException], ...] = (),
) -> list[tuple[str, str]]:
    """(location, message) for every problem of a cattrs error; ``root`` names the top level.

    Errors of the ``plain`` types (and WrongValue, ValueError) are shown by their message alone.
    """
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        found = []
        with_notes, without = error.group_exceptions()
        for inner, note in with_notes:
            key = getattr(note, "name", None)
            if key is None:
                key = getattr(note, "index", None)
            found.extend(problems(inner, join(path, key), valid_keys=valid_keys, root=root, plain=plain))
        for inner in without:
            found.extend(problems(inner, path, valid_keys=valid_keys, root=root, plain=plain))
        return found
    if isinstance(error, ForbiddenExtraKeysError):
        valid = valid_keys(error.cl)
        return [(join(path, key), unknown_key(key, valid)) for key in sorted(error.extra_fields)]
    if isinstance(error, KeyError):
        return [(path or root, "missing: this key is required")]
    if isinstance(error, (WrongValue, ValueError, *plain)):
        return [(path or root, str(error))]
    return [(path or root, f"{type(error).__name__}: {error}")]
