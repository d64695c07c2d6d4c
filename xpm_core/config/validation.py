"""Checking and coercing parameter values against their annotations (no pydantic: small closures)."""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path, PurePath
from typing import Any, Callable, Union

Check = Callable[[Any], Any]

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


class InvalidValue(Exception):
    """A value does not match an annotation; ``detail`` says why, ``expected`` what was wanted."""

    def __init__(self, expected: str, value: Any, detail: str | None = None) -> None:
        self.expected = expected
        self.value = value
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        text = (
            f"expected {self.expected}, got {short_repr(self.value)} ({type(self.value).__name__})"
        )
        return f"{text}: {self.detail}" if self.detail else text


class GenericMismatch(InvalidValue):
    """A value does not fit a generic type argument or a bound TypeVar (a TypeError for users)."""


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TypeSpec:
    """What an annotation accepts: a check/coerce function, a name for messages, and hashing flags."""

    __slots__ = ("name", "check", "ignored", "config_class", "is_set")

    def __init__(
        self,
        name: str,
        check: Check,
        *,
        ignored: bool = False,
        config_class: type | None = None,
        is_set: bool = False,
    ) -> None:
        self.name = name
        self.check = check
        #: ``Param[Path]`` is left out of identifiers, as in experimaestro (reference §10 #27)
        self.ignored = ignored
        #: the Config class when the annotation is a Config type (composition, ``@``)
        self.config_class = config_class
        self.is_set = is_set

    def __repr__(self) -> str:
        return f"TypeSpec({self.name})"


def _check_int(value: Any) -> int:
    tp = type(value)
    if tp is int:
        return value
    if tp is bool:
        return int(value)
    if isinstance(value, int) and not isinstance(value, enum.Enum):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
    elif hasattr(type(value), "__index__"):
        return value.__index__()
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InvalidValue("int", value)


def _check_float(value: Any) -> float:
    tp = type(value)
    if tp is float:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, enum.Enum):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise InvalidValue("float", value)


def _check_str(value: Any) -> str:
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        if value.isascii():
            return value
        try:
            # A lone surrogate cannot be written to params.json or hashed as UTF-8: refuse it now.
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidValue(
                "str", value, f"lone surrogate {value[e.start]!r} at index {e.start} is not valid UTF-8"
            ) from None
        return value
    raise InvalidValue("str", value)


def _check_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise InvalidValue("bool", value)


def _check_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, (str, PurePath)):
        return Path(value)
    raise InvalidValue("Path (or str)", value)


def _check_any(value: Any) -> Any:
    return value


_EXACT: dict[Check, set[type] | None] = {
    _check_int: {int},
    _check_float: {float},
    _check_str: {str},  # only when every string is ASCII (no lone surrogate): see _compile_list
    _check_bool: {bool},
    _check_any: None,
}


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__.rsplit("<locals>.", 1)[-1]
    return str(tp).replace("typing.", "")


def compile_type(tp: Any) -> TypeSpec:
    """The :class:`TypeSpec` of an annotation (``Param[...]`` metadata already removed)."""
    from xpm_core.config.objects import Config  # noqa: PLC0415 - objects imports this module

    if tp is Any or tp is object or tp is None:
        return TypeSpec("Any", _check_any)
    if tp is type(None):
        return TypeSpec("None", _check_none)
    if tp is int:
        return TypeSpec("int", _check_int)
    if tp is float:
        return TypeSpec("float", _check_float)
    if tp is str:
        return TypeSpec("str", _check_str)
    if tp is bool:
        return TypeSpec("bool", _check_bool)
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return TypeSpec("Path", _check_path, ignored=True)
    if isinstance(tp, typing.TypeVar):
        bound = tp.__bound__
        if bound is None:
            return TypeSpec(tp.__name__, _check_any)
        bound_spec = compile_type(bound)
        bound_check = bound_spec.check

        def check_bound(value: Any) -> Any:
            try:
                return bound_check(value)
            except InvalidValue as e:
                raise GenericMismatch(
                    f"{tp.__name__} (bound to {bound_spec.name})", value, e.detail
                ) from None

        return TypeSpec(tp.__name__, check_bound, ignored=bound_spec.ignored, config_class=bound_spec.config_class)
    if isinstance(tp, typing.ForwardRef) or isinstance(tp, str):
        raise TypeError(
            f"unresolved annotation {tp!r}: define the class before the configuration uses it"
        )

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return compile_type(args[0])
    if origin is Union or origin is types.UnionType:
        return _compile_union(tp, args)
    if origin is typing.Literal:
        return _compile_literal(args)
    if origin in (list, typing.List):
        return _compile_list(tp, args)
    if origin in (set, frozenset):
        return _compile_set(tp, origin, args)
    if origin is dict:
        return _compile_dict(tp, args)
    if origin is tuple:
        return _compile_tuple(tp, args)
    if tp in (list, set, dict, tuple, frozenset):
        return compile_type(
            tp[typing.Any, ...]
            if tp is tuple
            else tp[typing.Any] if tp is not dict else dict[typing.Any, typing.Any]
        )

    cls = origin if isinstance(origin, type) else tp
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return TypeSpec(_type_name(cls), _instance_check(cls, _type_name(cls)))
    if isinstance(cls, type) and issubclass(cls, Config):
        if args and cls is origin:
            return TypeSpec(_type_name(cls), _generic_config_check(cls, args), config_class=cls)
        return TypeSpec(_type_name(cls), _config_check(cls), config_class=cls)
    if isinstance(cls, type):
        return TypeSpec(_type_name(cls), _instance_check(cls, _type_name(cls)))
    raise TypeError(f"unsupported parameter annotation {tp!r}")


def _check_none(value: Any) -> None:
    if value is not None:
        raise InvalidValue("None", value)
    return None


def _instance_check(cls: type, name: str) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        raise InvalidValue(name, value)

    return check


def _generic_config_check(cls: type, args: tuple) -> Check:
    """``Holder[A]``: a ``Holder`` whose type arguments fit ``A`` (class bases or bindings)."""
    from xpm_core.config.generics import type_argument_mismatch  # noqa: PLC0415

    base_check = _config_check(cls)
    name = f"{_type_name(cls)}[{', '.join(_type_name(a) for a in args)}]"

    def check(value: Any) -> Any:
        value = base_check(value)
        mismatch = type_argument_mismatch(value, cls, args)
        if mismatch is not None:
            raise GenericMismatch(name, value, mismatch)
        return value

    return check


def _config_check(cls: type) -> Check:
    from xpm_core.config.objects import Config, ConfigMixin, Task  # noqa: PLC0415

    name = _type_name(cls)
    is_task = issubclass(cls, Task)

    def check(value: Any) -> Any:
        if isinstance(value, ConfigMixin):
            if not isinstance(value, cls):
                raise InvalidValue(
                    name, value, f"{value.__xpmtype__.display_name} is not a subclass of {name}"
                )
            if is_task and value.__xpm__.job is None:
                raise InvalidValue(
                    name, value, "a task must be submitted before being used as a parameter"
                )
            return value
        if isinstance(value, Config):
            raise InvalidValue(
                name,
                value,
                f"this is a plain object, not a configuration: build it with {_type_name(type(value))}.C(...)",
            )
        raise InvalidValue(name, value)

    return check


def _compile_union(tp: Any, args: tuple) -> TypeSpec:
    non_none = [a for a in args if a is not type(None)]
    optional = len(non_none) < len(args)
    specs = [compile_type(a) for a in non_none]
    name = " | ".join(s.name for s in specs) + (" | None" if optional else "")
    if len(specs) == 1:
        inner = specs[0]
        inner_check = inner.check

        def check_optional(value: Any) -> Any:
            if value is None:
                return None
            return inner_check(value)

        # Optional[Path] is ignored like Path (experimaestro strips Optional first)
        return TypeSpec(
            name,
            check_optional,
            ignored=inner.ignored,
            config_class=inner.config_class,
            is_set=inner.is_set,
        )

    # Exact type matches win before coercions so that Union[int, str] keeps "5" a str
    def check_union(value: Any) -> Any:
        if value is None and optional:
            return None
        coerced = []
        for spec in specs:
            try:
                result = spec.check(value)
            except InvalidValue:
                continue
            if type(result) is type(value):
                return result
            coerced.append(result)
        if coerced:
            return coerced[0]
        raise InvalidValue(name, value)

    return TypeSpec(name, check_union)


def _compile_literal(args: tuple) -> TypeSpec:
    allowed = args
    name = "one of " + ", ".join(repr(a) for a in allowed)

    def check(value: Any) -> Any:
        for choice in allowed:
            if value == choice and type(value) is type(choice):
                return choice
        raise InvalidValue(name, value)

    return TypeSpec(f"Literal[{', '.join(repr(a) for a in allowed)}]", check)


def _compile_list(tp: Any, args: tuple) -> TypeSpec:
    element = compile_type(args[0]) if args else compile_type(Any)
    element_check = element.check
    name = f"list[{element.name}]"
    # elements of these exact types pass their check unchanged: skip the per-element calls
    exact = _EXACT.get(element_check)

    def check(value: Any) -> list:
        if not isinstance(value, list):
            raise InvalidValue(name, value)
        if element_check is _check_any or (
            exact is not None
            and set(map(type, value)) <= exact
            and (element_check is not _check_str or all(map(str.isascii, value)))
        ):
            return list(value)
        out: list[Any] = []
        append = out.append
        for index, item in enumerate(value):
            try:
                append(element_check(item))
            except InvalidValue as e:
                raise InvalidValue(name, value, f"element {index}: {e.describe()}") from None
        return out

    return TypeSpec(name, check)


def _compile_set(tp: Any, origin: type, args: tuple) -> TypeSpec:
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    element = compile_type(args[0]) if args else compile_type(Any)
    element_check = element.check
    name = f"{origin.__name__}[{element.name}]"

    def check(value: Any) -> Any:
        if not isinstance(value, (set, frozenset)):
            raise InvalidValue(name, value)
        out = []
        for item in value:
            if isinstance(item, ConfigMixin) and not item.__xpm__._sealed:
                raise InvalidValue(
                    name, value, "configurations in a set must be sealed: use sealed_set(...)"
                )
            try:
                out.append(element_check(item))
            except InvalidValue as e:
                raise InvalidValue(name, value, e.describe()) from None
        return origin(out)

    return TypeSpec(name, check, is_set=True)


def _compile_dict(tp: Any, args: tuple) -> TypeSpec:
    key = compile_type(args[0]) if args else compile_type(Any)
    val = compile_type(args[1]) if len(args) > 1 else compile_type(Any)
    key_check, val_check = key.check, val.check
    name = f"dict[{key.name}, {val.name}]"

    def check(value: Any) -> dict:
        if not isinstance(value, dict):
            raise InvalidValue(name, value)
        out = {}
        for k, v in value.items():
            try:
                out[key_check(k)] = val_check(v)
            except InvalidValue as e:
                raise InvalidValue(name, value, f"entry {k!r}: {e.describe()}") from None
        return out

    return TypeSpec(name, check)


def _compile_tuple(tp: Any, args: tuple) -> TypeSpec:
    variadic = len(args) == 2 and args[1] is Ellipsis
    if variadic:
        element = compile_type(args[0])
        name = f"tuple[{element.name}, ...]"

        def check_variadic(value: Any) -> tuple:
            if not isinstance(value, (tuple, list)):
                raise InvalidValue(name, value)
            try:
                return tuple(element.check(v) for v in value)
            except InvalidValue as e:
                raise InvalidValue(name, value, e.describe()) from None

        return TypeSpec(name, check_variadic)

    specs = [compile_type(a) for a in args]
    name = f"tuple[{', '.join(s.name for s in specs)}]"

    def check_fixed(value: Any) -> tuple:
        if not isinstance(value, (tuple, list)) or len(value) != len(specs):
            raise InvalidValue(
                name,
                value,
                (
                    f"a tuple of {len(specs)} elements is needed"
                    if isinstance(value, (tuple, list))
                    else None
                ),
            )
        try:
            return tuple(spec.check(v) for spec, v in zip(specs, value))
        except InvalidValue as e:
            raise InvalidValue(name, value, e.describe()) from None

    return TypeSpec(name, check_fixed)
