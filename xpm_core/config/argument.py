"""A declared parameter of a configuration class: its type, default, and identifier rules."""

from __future__ import annotations

import enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Callable, FrozenSet

from xpm_core.config.validation import TypeSpec

if TYPE_CHECKING:
    from xpm_core.config.xpmtype import ObjectType

_IMMUTABLE = (int, float, str, bool, bytes, enum.Enum, PurePath, type(None))


def clone(value: Any) -> Any:
    """A copy of a default value, so that instances never share a mutable default."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(clone(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(clone(v) for v in value)
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415 - cycle

    if isinstance(value, ConfigMixin):
        return value.copy()
    return value


class Argument:
    """One parameter (``Param``/``Meta``/``Constant``) of a configuration class."""

    __slots__ = (
        "name",
        "spec",
        "required",
        "_help",
        "generator",
        "ignored",
        "constant",
        "default",
        "validated_default",
        "has_default",
        "ignore_default",
        "ignore_generated",
        "overrides",
        "groups",
        "objecttype",
        "is_path_generator",
        "hash_prefix",
        "check",
        "plain",
        "is_data",
        "typevars",
    )

    def __init__(
        self,
        name: str,
        spec: TypeSpec,
        *,
        required: bool,
        ignored: bool,
        constant: bool = False,
        default: Any = None,
        generator: Callable[..., Any] | None = None,
        ignore_default: bool = False,
        ignore_generated: bool = False,
        overrides: bool = False,
        groups: FrozenSet[Any] = frozenset(),
        help: str | None = None,
        is_data: bool = False,
        typevars: tuple = (),
    ) -> None:
        from xpm_core.config.generators import Generator  # noqa: PLC0415 - cycle

        self.name = name
        self.spec = spec
        self.required = required
        self._help = help
        self.generator = generator
        self.ignored = ignored
        self.constant = constant
        self.default = default
        self.has_default = default is not None
        self.validated_default = default
        self.ignore_default = ignore_default
        self.ignore_generated = ignore_generated
        self.overrides = overrides
        self.groups = groups
        self.objecttype: ObjectType | None = None
        #: PathGenerator-like generators make the argument skipped in identifiers
        self.is_path_generator = isinstance(generator, Generator)
        #: ``03 name 05``: what precedes the value in the identifier encoding
        self.hash_prefix = b"\x03" + name.encode("utf-8") + b"\x05"
        self.check = spec.check
        #: settable by a plain validated assignment (not constant, not generated)
        #: how values bind TypeVars (generic configurations; see xpm_core.config.generics)
        self.typevars = typevars
        self.plain = not constant and not self.is_path_generator and not typevars
        #: a ``DataPath``: copied next to the definition by ``save``
        self.is_data = is_data

    @property
    def type(self) -> TypeSpec:
        """The accepted type (experimaestro's ``argument.type``)."""
        return self.spec

    @property
    def help(self) -> str | None:
        """Help text, from ``help(...)``, the class docstring or the attribute docstring."""
        if self._help is None and self.objecttype is not None:
            self.objecttype.parse_docs()
        return self._help

    @help.setter
    def help(self, text: str | None) -> None:
        self._help = text

    def __repr__(self) -> str:
        kind = "Constant" if self.constant else "Meta" if self.ignored else "Param"
        return f"{kind}[{self.name}: {self.spec.name}]"
