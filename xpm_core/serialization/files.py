"""Saving and loading configurations: ``save``/``load`` (a directory), ``state_dict``/``from_state_dict``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext
from xpm_core.serialization.context import SerializationContext as SavingContext
from xpm_core.serialization.objects import ObjectWriter, load_objects, references
from xpm_core.serialization.values import from_json, to_json

DEFINITION_FILE = "experimaestro.json"
LEGACY_DEFINITION_FILE = "definition.json"


def state_dict(value: Any, context: SerializationContext | None = None) -> Dict[str, Any]:
    """``{"objects": [...], "data": ...}``: the records of the configurations in ``value`` and its JSON form."""
    context = context or SerializationContext()
    writer = ObjectWriter(context)
    objects = writer.records(value)
    return {"objects": objects, "data": to_json(value, context)}


def from_state_dict(
    state: Dict[str, Any],
    context: DeserializationContext | None = None,
    *,
    as_instance: bool = False,
    partial_loading: Optional[bool] = None,
) -> Any:
    """The value saved by :func:`state_dict` (configurations sealed, or plain objects with ``as_instance``)."""
    context = context or DeserializationContext()
    partial = as_instance if partial_loading is None else partial_loading
    objects = load_objects(
        state["objects"], context, partial_loading=partial, roots=list(references(state["data"]))
    )
    value = from_json(state["data"], context, objects.__getitem__)
    if as_instance:
        return _as_instance(value, objects)
    return value


def _as_instance(value: Any, objects: Dict[int, Any]) -> Any:
    from xpm_core.config.instance import _convert, build_instance  # noqa: PLC0415
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    built: Dict[int, Any] = {}
    for config in objects.values():
        if isinstance(config, ConfigMixin) and id(config) not in built:
            build_instance(config, objects=built)
    for config in objects.values():
        if isinstance(config, ConfigMixin):
            obj = built[id(config)]
            obj.__dict__["__xpmidentifier__"] = config.__xpm__.identifier
            obj.__dict__["__xpmtypename__"] = config.__xpmtype__.identifier
    return _convert(value, built)


def save(
    value: Any, save_directory: Union[str, Path], definition_filename: str = DEFINITION_FILE
) -> None:
    """Write ``value`` (configurations, in containers or not) to ``save_directory/experimaestro.json``."""
    directory = Path(save_directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = state_dict(value, SavingContext(save_directory=directory))
    with (directory / definition_filename).open("wt") as out:
        json.dump(data, out)


def load(
    path: Union[str, Path],
    as_instance: bool = False,
    partial_loading: Optional[bool] = None,
    definition_filename: str | None = None,
) -> Any:
    """The value written by :func:`save` in directory ``path``."""
    directory = Path(path)
    if definition_filename is None:
        definition_filename = (
            DEFINITION_FILE if (directory / DEFINITION_FILE).exists() else LEGACY_DEFINITION_FILE
        )
    with (directory / definition_filename).open("rt") as fh:
        content = json.load(fh)
    context = DeserializationContext()
    # saved DataPath files are next to the definition
    context.data_directory = directory  # type: ignore[attr-defined]
    return from_state_dict(content, context, as_instance=as_instance, partial_loading=partial_loading)


def serialize(
    value: Any,
    save_directory: Union[str, Path],
    *,
    init_tasks: List[Any] = [],  # noqa: B006 - never mutated; experimaestro's signature
    definition_filename: str = DEFINITION_FILE,
) -> None:
    """Like :func:`save`, storing init tasks to run when loaded with ``deserialize(as_instance=True)``."""
    save((value, list(init_tasks)), save_directory, definition_filename)


def deserialize(
    path: Union[str, Path],
    as_instance: bool = False,
    partial_loading: Optional[bool] = None,
    definition_filename: str | None = None,
) -> Union[Any, Tuple[Any, List[Any]]]:
    """What :func:`serialize` wrote: ``(value, init_tasks)``, or the instance after running the init tasks."""
    value, init_tasks = load(path, as_instance, partial_loading, definition_filename)
    if as_instance:
        for init_task in init_tasks:
            init_task.execute()
        return value
    return value, init_tasks
