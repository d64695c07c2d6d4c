"""From the merged YAML dict to the ``run`` function's configuration object, with cattrs.

Unknown keys are errors (experimaestro ignored them silently): a misspelt key must not leave a
default in place unnoticed. Every problem is reported with its dotted path and the file that
set it: ``xp.yaml: lerning_rate: unknown key (did you mean 'learning_rate'?)``.
"""

from __future__ import annotations

import enum
import typing
from pathlib import Path
from typing import Any, Mapping

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from xpm_core.experiments.errors import ExperimentSetupError
from xpm_core.experiments.grid import GridValues, is_grid_type, value_list
from xpm_core.settings.cattrs_hooks import WrongValue, describe, problems, structure_integer, structure_string


def _float(value: Any, _: type) -> float:
    # YAML 1.1 reads 1e-4 (no dot) as a string: accept any text float() reads.
    if isinstance(value, bool):
        raise WrongValue(f"expected a number, found {describe(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise WrongValue(f"expected a number, found {describe(value)}")


def _boolean(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise WrongValue(f"expected true or false, found {describe(value)}")
    return value


def _path(value: Any, _: type) -> Path:
    return Path(structure_string(value, str)).expanduser()


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    for member in cls:
        if value == member.value or (isinstance(value, str) and value.lower() in (member.name.lower(), str(member.value).lower())):
            return member
    choices = ", ".join(str(member.value) for member in cls)
    raise WrongValue(f"expected one of {choices}, found {describe(value)}")


def _any(value: Any, _: type) -> Any:
    return value


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for cls, hook in ((str, structure_string), (int, structure_integer), (float, _float), (bool, _boolean), (Path, _path)):
        converter.register_structure_hook(cls, hook)
    converter.register_structure_hook(Any, _any)
    converter.register_structure_hook(enum.Enum, _enum)

    def register_enums(annotation: Any) -> None:
        # A ``class E(str, Enum)`` would get str's hook (a str subclass) or cattrs' E(value):
        # register ours for each enum a schema uses (case-insensitive, listing the choices).
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            converter.register_structure_hook(annotation, _enum)
        for argument in typing.get_args(annotation):
            register_enums(argument)

    def sequence(value: Any, annotation: Any) -> list[Any]:
        if not isinstance(value, list):
            raise WrongValue(f"expected a list, found {describe(value)}")
        arguments = typing.get_args(annotation)
        item = arguments[0] if arguments else Any
        result, errors = [], []
        for position, entry in enumerate(value):
            try:
                result.append(converter.structure(entry, item))
            except Exception as error:  # collected like cattrs does, to report every problem
                error.__notes__ = [*getattr(error, "__notes__", []), IterableValidationNote(f"@ {position}", position, item)]
                errors.append(error)
        if errors:
            raise IterableValidationError("invalid list", errors, annotation)
        return tuple(result) if typing.get_origin(annotation) is tuple else result

    def mapping(value: Any, annotation: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise WrongValue(f"expected a mapping, found {describe(value)}")
        arguments = typing.get_args(annotation)
        item = arguments[1] if len(arguments) == 2 else Any
        return {key: converter.structure(entry, item) for key, entry in value.items()}

    def grid(value: Any, annotation: Any) -> Any:
        arguments = typing.get_args(annotation)
        item = arguments[0] if arguments else Any
        values = [converter.structure(entry, item) for entry in value_list(value, "grid values")]
        return values[0] if len(values) == 1 else GridValues(values)

    def attrs_class(cls: type) -> Any:
        for field in attrs.fields(cls):
            register_enums(field.type)
        structure = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

        def hook(value: Any, _: type) -> Any:
            if not isinstance(value, dict):
                raise WrongValue(f"expected a mapping (keys: {', '.join(attrs.fields_dict(cls))}), found {describe(value)}")
            return structure(value, cls)

        return hook

    converter.register_structure_hook_func(
        lambda t: typing.get_origin(t) in (list, tuple, typing.Sequence) or t in (list, tuple), sequence
    )
    converter.register_structure_hook_func(lambda t: typing.get_origin(t) in (dict, typing.Mapping) or t is dict, mapping)
    converter.register_structure_hook_func(is_grid_type, grid)
    converter.register_structure_hook_factory(attrs.has, attrs_class)
    return converter


_converter: cattrs.Converter | None = None


def converter() -> cattrs.Converter:
    """The converter reading configuration values (built once)."""
    global _converter
    if _converter is None:
        _converter = _make_converter()
    return _converter


def _problems(error: BaseException, path: str) -> list[tuple[str, str]]:
    """(dotted path, message) for every problem of a cattrs error."""
    return problems(error, path, plain=(ExperimentSetupError,))


def _origin(path: str, origins: Mapping[str, str], default: str) -> str:
    """The file that set ``path`` or, for a missing key, its closest set parent."""
    candidate = path.split("[")[0]
    while candidate:
        if candidate in origins:
            return origins[candidate]
        candidate = candidate.rpartition(".")[0]
    return default


def structure_configuration(data: Mapping[str, Any], schema: type, origins: Mapping[str, str], main_file: str) -> Any:
    """An instance of ``schema`` from ``data``; every problem in one ExperimentSetupError."""
    from xpm_core.experiments.schema import resolve_annotations

    resolve_annotations(schema)
    try:
        return converter().structure(dict(data), schema)
    except Exception as error:
        found = _problems(error, "")
        if not found:
            raise
        lines = [f"{_origin(path, origins, main_file)}: {path or 'configuration'}: {message}" for path, message in found]
        raise ExperimentSetupError("\n".join(lines)) from None


def structure_value(value: Any, annotation: Any, where: str) -> Any:
    """``value`` read as ``annotation`` (a grid value); errors start with ``where``."""
    try:
        return converter().structure(value, annotation)
    except Exception as error:
        found = _problems(error, "")
        detail = "; ".join(f"{path}: {message}" if path else message for path, message in found) or str(error)
        raise ExperimentSetupError(f"{where}: {detail}") from None
