"""Exceptions raised by the object model; each subclasses the built-in experimaestro raised."""

from __future__ import annotations

import os
import sys
from typing import Tuple

#: (file, line) of the user code that did something
Location = Tuple[str, int]

_INTERNAL_PREFIXES = ("xpm_core.config", "xpm_core.serialization")


def caller_location(depth: int = 2) -> Location:
    """(file, line) of the caller ``depth`` frames up, skipping xpm_core.config frames."""
    frame = sys._getframe(depth)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        _INTERNAL_PREFIXES
    ):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno)


def format_location(location: Location | None) -> str:
    """``/abs/file.py:12`` (or ``<unknown>``)."""
    if location is None:
        return "<unknown>"
    filename, line = location
    if filename.startswith("<"):
        return f"{filename}:{line}"
    return f"{os.path.abspath(filename)}:{line}"


class UnknownParameterError(ValueError):
    """A keyword or attribute that is not a parameter of the class."""


class InvalidParameterError(ValueError):
    """A value that does not match the parameter's type."""


class MissingParameterError(ValueError):
    """A required parameter was not set when the configuration was validated (at submit)."""


class ConstantParameterError(AttributeError):
    """An attempt to set a ``Constant`` (or a generated parameter)."""


class SealedError(AttributeError):
    """An attempt to modify a sealed (submitted) configuration."""


class UnhashableValueError(TypeError):
    """A parameter value the identifier encoding cannot represent."""


class NoExperimentError(RuntimeError):
    """``submit()`` was called while no experiment is running."""
