"""Generic configurations: ``class C(Config, Generic[T])`` with ``TypeVar``-typed parameters.

A configuration keeps the type each ``TypeVar`` is bound to by its values (and its
sub-configurations'): a new value of a subclass keeps the binding, one of a superclass widens it,
an unrelated type is a :class:`GenericTypeError` naming the parameter and both types.
A parameter declared ``Param[Holder[A]]`` accepts a ``Holder`` whose type arguments (in its class
bases or its bindings) are compatible with ``A`` (a subclass, or a member of a ``Union``).
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple, TypeVar

from xpm_core.config.errors import InvalidParameterError

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigInformation, ConfigMixin


#: set once a generic configuration class exists: validation checks bindings only then
ANY_GENERIC = False


class GenericTypeError(InvalidParameterError, TypeError):
    """A value breaks a ``TypeVar`` binding or a generic type argument."""


#: Where TypeVars occur in an annotation: ("value", T), ("items", T) for containers' elements,
#: ("values", T) for a dict's values.
Shape = Tuple[str, TypeVar]


def typevar_shapes(hint: Any) -> tuple[Shape, ...]:
    """How the values of a parameter annotated ``hint`` bind TypeVars (empty: they do not)."""
    if isinstance(hint, TypeVar):
        return (("value", hint),)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        if len(members) == 1 and isinstance(members[0], TypeVar):
            return (("value", members[0]),)
        return ()
    if origin in (list, set, frozenset, typing.List, typing.Set) and args and isinstance(args[0], TypeVar):
        return (("items", args[0]),)
    if origin is dict and len(args) == 2 and isinstance(args[1], TypeVar):
        return (("values", args[1]),)
    return ()


def value_type(value: Any) -> type:
    """The type a value binds: a configuration's declared class, not its ``X.C`` class."""
    xpmtype = getattr(type(value), "__xpmtype__", None)
    return xpmtype.original_type if xpmtype is not None else type(value)


def _bound_types(shape: Shape, value: Any) -> Iterator[type]:
    kind, _ = shape
    if value is None:
        return
    if kind == "value":
        yield value_type(value)
    elif kind == "items" and isinstance(value, (list, set, frozenset, tuple)):
        yield from (value_type(v) for v in value)
    elif kind == "values" and isinstance(value, dict):
        yield from (value_type(v) for v in value.values())


def _type_name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


def bind(
    bindings: Dict[TypeVar, tuple[type, str]], typevar: TypeVar, tp: type, where: str
) -> Optional[str]:
    """Bind ``typevar`` to ``tp`` (widening to a superclass); the conflict message, or None."""
    current = bindings.get(typevar)
    if current is None:
        bindings[typevar] = (tp, where)
        return None
    bound, bound_where = current
    if issubclass(tp, bound):
        return None
    if issubclass(bound, tp):
        bindings[typevar] = (tp, where)
        return None
    return (
        f"{where} binds {typevar.__name__} to {_type_name(tp)}, but {bound_where} "
        f"bound it to {_type_name(bound)}"
    )


def check_set(info: ConfigInformation, name: str, value: Any) -> None:
    """Update ``info``'s bindings for a new value of parameter ``name``, or raise GenericTypeError."""
    argument = info.xpmtype.arguments[name]
    where = f"{info.xpmtype.display_name}.{name}"
    # work on a copy: a refused value leaves the bindings unchanged
    bindings = dict(info.typevar_bindings)
    for shape in argument.typevars:
        for tp in _bound_types(shape, value):
            conflict = bind(bindings, shape[1], tp, where)
            if conflict:
                raise GenericTypeError(f"invalid value for parameter {name!r}: {conflict}")
    for child in _configs(value):
        for typevar, (tp, child_where) in child.__xpm__.typevar_bindings.items():
            conflict = bind(bindings, typevar, tp, child_where)
            if conflict:
                raise GenericTypeError(f"invalid value for parameter {name!r} ({where}): {conflict}")
    info.typevar_bindings = bindings


def _configs(value: Any) -> Iterator[ConfigMixin]:
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    if isinstance(value, ConfigMixin):
        yield value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _configs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _configs(item)


def check_tree(root: ConfigMixin) -> None:
    """At validation: recompute the bindings of every configuration of the tree, children first."""
    from xpm_core.config.walk import postorder  # noqa: PLC0415

    for config, _ in postorder(root):
        info = config.__xpm__
        if not info.xpmtype.generic:
            continue
        info.typevar_bindings = {}
        for name in info.xpmtype.generic_arguments:
            check_set(info, name, info.values.get(name))


# --- type arguments of generic configuration classes


def class_type_arguments(cls: type, generic: type) -> Optional[tuple]:
    """The type arguments ``cls`` gives ``generic`` in its bases (``class B(A[int])``), or None."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, generic) and origin is not typing.Generic:
                if origin is generic:
                    return typing.get_args(base)
    return None


def compatible(actual: Any, declared: Any) -> bool:
    """Whether a type argument ``actual`` fits the declared one."""
    if isinstance(declared, TypeVar) or declared is Any:
        return True
    if actual == declared:
        return True
    origin = typing.get_origin(declared)
    if origin is typing.Union or origin is types.UnionType:
        return any(compatible(actual, member) for member in typing.get_args(declared))
    if isinstance(actual, type) and isinstance(declared, type):
        return issubclass(actual, declared)
    if isinstance(actual, type) and isinstance(origin, type):
        return issubclass(actual, origin)
    return False


def type_argument_mismatch(value: Any, generic: type, declared: tuple) -> Optional[str]:
    """Why configuration ``value`` does not fit ``generic[declared...]`` (None when it does)."""
    parameters = getattr(generic, "__parameters__", ())
    actual = class_type_arguments(value_type(value), generic)
    bindings = value.__xpm__.typevar_bindings
    for index, expected in enumerate(declared):
        if actual is not None and index < len(actual) and not isinstance(actual[index], TypeVar):
            given: Any = actual[index]
        else:
            typevar = actual[index] if actual is not None and index < len(actual) else (
                parameters[index] if index < len(parameters) else None
            )
            binding = bindings.get(typevar) if typevar is not None else None
            if binding is None:
                continue
            given = binding[0]
        if not compatible(given, expected):
            return (
                f"{_type_name(value_type(value))} has type argument {_type_name(given)} where "
                f"{_type_name(generic)}[{', '.join(_type_name(d) for d in declared)}] expects {_type_name(expected)}"
            )
    return None
