"""Grid search over a configuration: ``GridSearch[T]`` fields, the ``grid_search`` block, ``generate_grid``.

A value list is given in one of these forms (in a ``GridSearch[T]`` field or under ``grid_search``)::

    hidden: [64, 128]                       # the values
    hidden: {values_list: [64, 128]}
    epochs: {range: [1, 10, 3]}             # range(start, stop[, step]): 1, 4, 7 (also values_range)
    lr: {range_mult: [1e-4, 3, 10]}         # start * mult**i for i < n: 1e-4, 1e-3, 1e-2 (also values_mult)
    grid_search:
      model.hidden: [64, 128]               # dotted path of any field
      config_dicts:                         # coupled values: one axis whose points set several keys
        - {optimizer: adam, lr: 0.001}
        - {optimizer: sgd, lr: 0.1}

``generate_grid(cfg)`` returns the Cartesian product of every axis: a list of configurations
(copies of ``cfg`` with concrete values) and, for each, its tags ``{dotted path: value}``.
"""

from __future__ import annotations

import copy
import itertools
import typing
from typing import Any, Generic, TypeVar

import attrs

from xpm_core.experiments.errors import ExperimentSetupError

T = TypeVar("T")

#: Keys of a value-list mapping, and their experimaestro aliases.
_LIST_KEYS = ("values_list",)
_RANGE_KEYS = ("values_range", "range")
_MULT_KEYS = ("values_mult", "range_mult")
CONFIG_DICTS = "config_dicts"


class GridSearch(Generic[T]):
    """Annotation of a field taking one value or a list of values: ``hidden: GridSearch[int] = 64``.

    After reading the YAML, the field holds the value itself when one was given, and a
    :class:`GridValues` when several were; :func:`generate_grid` expands them.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("GridSearch is an annotation (hidden: GridSearch[int]); values are GridValues")


@attrs.frozen
class GridValues:
    """The values a grid field takes (two or more)."""

    values: tuple[Any, ...] = attrs.field(converter=tuple)


def is_grid_type(annotation: Any) -> bool:
    return annotation is GridSearch or typing.get_origin(annotation) is GridSearch


def _number(value: Any, where: str) -> float | int:
    # YAML 1.1 reads 1e-4 (no dot) as a string: accept what float() accepts.
    if isinstance(value, bool):
        raise ExperimentSetupError(f"{where}: expected a number, found {value!r}")
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExperimentSetupError(f"{where}: expected a number, found {value!r}") from None


def value_list(spec: Any, where: str) -> list[Any]:
    """The values described by ``spec`` (a scalar, a list, or a value-list mapping)."""
    if isinstance(spec, GridValues):
        return list(spec.values)
    if isinstance(spec, list):
        if not spec:
            raise ExperimentSetupError(f"{where}: an empty list of values gives no configuration")
        return list(spec)
    if not isinstance(spec, dict):
        return [spec]
    known = (*_LIST_KEYS, *_RANGE_KEYS, *_MULT_KEYS)
    given = [key for key in spec if key in known]
    unknown = [key for key in spec if key not in known]
    if len(given) != 1 or unknown:
        # A plain mapping is a value too (a field typed dict), unless it uses our keys wrongly.
        if not given:
            return [spec]
        raise ExperimentSetupError(
            f"{where}: give exactly one of {', '.join(known)}, found {', '.join(map(str, spec))}"
        )
    key = given[0]
    arguments = spec[key]
    if key in _LIST_KEYS:
        return value_list(arguments if isinstance(arguments, list) else [arguments], where)
    if not isinstance(arguments, list):
        raise ExperimentSetupError(f"{where}: {key}: expected a list, found {arguments!r}")
    if key in _RANGE_KEYS:
        if not 2 <= len(arguments) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in arguments):
            raise ExperimentSetupError(f"{where}: {key}: expected [start, stop] or [start, stop, step] (integers), found {arguments!r}")
        values = list(range(*arguments))
    else:
        if len(arguments) != 3:
            raise ExperimentSetupError(f"{where}: {key}: expected [start, count, multiplier], found {arguments!r}")
        start, count, multiplier = (_number(a, f"{where}: {key}") for a in arguments)
        if int(count) != count or count < 1:
            raise ExperimentSetupError(f"{where}: {key}: the count must be a positive integer, found {count!r}")
        values = [start * multiplier**i for i in range(int(count))]
    if not values:
        raise ExperimentSetupError(f"{where}: {key}: {arguments!r} gives no value")
    return values


def field_type(schema: type, path: str) -> Any:
    """The annotation of the field at dotted ``path`` of the attrs class ``schema``."""
    cls, annotation = schema, None
    parts = path.split(".")
    for position, name in enumerate(parts):
        if not (isinstance(cls, type) and attrs.has(cls)):
            parent = ".".join(parts[:position])
            raise ExperimentSetupError(f"grid_search: {path}: {parent} has no fields (its type is {cls!r})")
        fields = attrs.fields_dict(cls)
        if name not in fields:
            known = ", ".join(fields)
            raise ExperimentSetupError(f"grid_search: unknown key {path!r}: {name!r} is not one of {known}")
        annotation = fields[name].type
        cls = _unwrap(annotation)
    return annotation


def _unwrap(annotation: Any) -> Any:
    """``GridSearch[T]`` -> T, ``Optional[T]`` -> T: the type values at a path have."""
    if is_grid_type(annotation):
        arguments = typing.get_args(annotation)
        annotation = arguments[0] if arguments else Any
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Union and len(arguments) == 1:
        return arguments[0]
    return annotation


@attrs.frozen
class _Axis:
    """One dimension of the grid: a point sets one or several dotted paths."""

    points: list[dict[str, Any]]


def _inline_axes(cfg: Any, prefix: str = "") -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    if not attrs.has(type(cfg)):
        return found
    for field in attrs.fields(type(cfg)):
        value = getattr(cfg, field.name)
        path = f"{prefix}{field.name}"
        if isinstance(value, GridValues):
            found[path] = list(value.values)
        elif attrs.has(type(value)):
            found.update(_inline_axes(value, f"{path}."))
    return found


def grid_axes(cfg: Any) -> list[_Axis]:
    """The dimensions of the grid of ``cfg``, in order: inline fields, ``grid_search`` paths, ``config_dicts``.

    Values are checked against the fields' types; errors name the path.
    """
    from xpm_core.experiments.structuring import structure_value

    schema = type(cfg)
    axes: dict[str, list[Any]] = _inline_axes(cfg)
    block = getattr(cfg, "grid_search", None) or {}
    coupled: list[dict[str, Any]] = []
    for path, spec in block.items():
        if path == CONFIG_DICTS:
            coupled = _config_dicts(schema, spec)
            continue
        annotation = _unwrap(field_type(schema, path))
        values = value_list(spec, f"grid_search: {path}")
        axes[path] = [structure_value(value, annotation, f"grid_search: {path}") for value in values]
    result = [_Axis([{path: value} for value in values]) for path, values in axes.items()]
    if coupled:
        result.append(_Axis(coupled))
    return result


def _config_dicts(schema: type, spec: Any) -> list[dict[str, Any]]:
    from xpm_core.experiments.structuring import structure_value

    where = f"grid_search: {CONFIG_DICTS}"
    if not isinstance(spec, list) or not spec or not all(isinstance(item, dict) for item in spec):
        raise ExperimentSetupError(f"{where}: expected a non-empty list of mappings (dotted path: value)")
    keys = set(spec[0])
    points = []
    for position, item in enumerate(spec):
        if set(item) != keys:
            raise ExperimentSetupError(
                f"{where}[{position}]: every entry must set the same keys ({', '.join(sorted(map(str, keys)))}), "
                f"this one sets {', '.join(sorted(map(str, item)))}"
            )
        points.append(
            {
                path: structure_value(value, _unwrap(field_type(schema, path)), f"{where}[{position}].{path}")
                for path, value in item.items()
            }
        )
    return points


def _set(cfg: Any, path: str, value: Any) -> None:
    *parents, name = path.split(".")
    target = cfg
    for parent in parents:
        target = getattr(target, parent)
    setattr(target, name, value)


def generate_grid(cfg: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Every configuration of the grid of ``cfg``, and the tags ``{dotted path: value}`` of each.

    Without any grid, ``([copy of cfg], [{}])``. The configurations are deep copies whose
    ``grid_search`` is empty and whose grid fields hold one value each.
    """
    axes = grid_axes(cfg)
    base = copy.deepcopy(cfg)
    if hasattr(base, "grid_search"):
        base.grid_search = {}
    configs, tags = [], []
    for combination in itertools.product(*(axis.points for axis in axes)):
        config = copy.deepcopy(base)
        point: dict[str, Any] = {}
        for assignment in combination:
            point.update(assignment)
        for path, value in point.items():
            _set(config, path, value)
        configs.append(config)
        tags.append(point)
    return configs, tags
