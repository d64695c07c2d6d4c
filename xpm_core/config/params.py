"""Parameter annotations (``Param``, ``Meta``, ``Option``, ``Constant``) and ``field(...)``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable, Optional, TypeVar

T = TypeVar("T")


class ParamHint:
    """Marker placed in ``Annotated[T, ...]`` metadata: what kind of argument an annotation declares."""

    __slots__ = ("ignored", "constant", "deprecated_alias", "help", "data")

    def __init__(
        self,
        *,
        ignored: bool = False,
        constant: bool = False,
        deprecated_alias: str | None = None,
        help: str | None = None,
        data: bool = False,
    ) -> None:
        self.ignored = ignored
        self.constant = constant
        self.deprecated_alias = deprecated_alias
        self.help = help
        #: a data path: left out of identifiers, its file copied (or hard-linked) by ``save``
        self.data = data

    def __repr__(self) -> str:
        kind = (
            "constant"
            if self.constant
            else "data"
            if self.data
            else "meta"
            if self.ignored
            else "param"
        )
        return f"ParamHint({kind})"


class help:  # noqa: N801 - lower-case like experimaestro's ``Annotated[int, help("...")]``
    """``Annotated[T, help("text")]``: the help text of a parameter."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


PARAM_HINT = ParamHint()
META_HINT = ParamHint(ignored=True)
OPTION_HINT = ParamHint(ignored=True, deprecated_alias="Option")
CONSTANT_HINT = ParamHint(constant=True)
DATA_HINT = ParamHint(ignored=True, data=True)

#: A parameter: part of the identifier.
Param = Annotated[T, PARAM_HINT]
#: A meta-parameter: stored and serialized, never part of the identifier.
Meta = Annotated[T, META_HINT]
#: Deprecated alias of :data:`Meta` (declaring one warns once per class).
Option = Annotated[T, OPTION_HINT]
#: A read-only parameter that must have a default; always part of the identifier.
Constant = Annotated[T, CONSTANT_HINT]
#: A file or folder that belongs to the configuration: never part of the identifier; ``save``
#: copies it (hard links when possible) next to the saved definition.
DataPath = Annotated[Path, DATA_HINT]
#: An optional :data:`DataPath`.
OptionalDataPath = Annotated[Optional[Path], DATA_HINT]


class TypeAnnotation:
    """Base class of ``Annotated[T, ...]`` metadata that changes a parameter (experimaestro's name).

    Such metadata alone makes the annotation a parameter: ``a: Annotated[str, Choices([...])]``
    declares ``Param[str]`` with a checker, as in experimaestro.
    """


class field:  # noqa: N801 - experimaestro's spelling
    """Extra properties of a parameter: default, factory, groups, override.

    ``default`` is always hashed (even when equal to the value); ``ignore_default=True`` leaves the
    parameter out of the identifier when its value equals the default (what a bare default
    ``x: Param[int] = 3`` does). ``default_factory`` is called once at class definition for a
    ``Param`` (the result is the default) and at sealing time for a ``Meta`` (``PathGenerator``).
    """

    __slots__ = (
        "default",
        "default_factory",
        "ignore_default",
        "ignore_generated",
        "overrides",
        "groups",
    )

    def __init__(
        self,
        *,
        default: Any = None,
        default_factory: Callable[..., Any] | None = None,
        ignore_default: Any = None,
        ignore_generated: bool = False,
        overrides: bool = False,
        groups: Iterable[Any] | None = None,
    ) -> None:
        if default is not None and default_factory is not None:
            raise ValueError(
                "field(): 'default' and 'default_factory' are mutually exclusive; give only one"
            )
        if (
            default is None
            and default_factory is None
            and ignore_default is not None
            and not isinstance(ignore_default, bool)
        ):
            # experimaestro's legacy spelling field(ignore_default=value)
            warnings.warn(
                f"field(ignore_default={ignore_default!r}) is deprecated: "
                f"write field(default={ignore_default!r}, ignore_default=True)",
                DeprecationWarning,
                stacklevel=2,
            )
            default, ignore_default = ignore_default, True
        elif ignore_default is not None and not isinstance(ignore_default, bool):
            raise ValueError(
                "field(): ignore_default must be True or False when 'default' or 'default_factory' is given"
            )
        self.default = default
        self.default_factory = default_factory
        self.ignore_default = bool(ignore_default)
        self.ignore_generated = ignore_generated
        self.overrides = overrides
        self.groups = frozenset(groups or ())

    def __repr__(self) -> str:
        return f"field(default={self.default!r}, default_factory={self.default_factory!r})"
