"""Configuration graphs to and from lists of object records (the ``objects`` of params.json v3).

A record: ``{"id", "module", "type", "typename", "identifier", ["init-tasks"], ["meta"], ["task"],
["file"], "fields"}``; every record comes after the records it refers to, so a list can be read
in one pass. Shared sub-configurations are written once and come back as one object.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List

from xpm_core.config.identifier import Identifier, compute_identifier
from xpm_core.config.objects import ConfigInformation, ConfigMixin
from xpm_core.config.walk import postorder
from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext
from xpm_core.serialization.context import SerializationContext as SavingContext
from xpm_core.serialization.context import serialized_path_json
from xpm_core.serialization.values import from_json, to_json

logger = logging.getLogger(__name__)


class TaskStub:
    """Stands for a task that was not loaded (partial loading): its identifier and type name only."""

    def __init__(self, identifier: Identifier, typename: str) -> None:
        self.identifier = identifier
        self.typename = typename

    def __repr__(self) -> str:
        return f"TaskStub({self.typename}, {self.identifier})"


class LoadedJob:
    """The ``job`` of a task loaded from disk: it was submitted in another process."""

    def __repr__(self) -> str:
        return "LoadedJob()"


class ObjectWriter:
    """Writes configuration records; records already written (by this writer) are not written again."""

    def __init__(self, context: SerializationContext | None = None) -> None:
        self.context = context or SerializationContext()
        self._written: set[int] = set()
        # digests of unsealed sub-trees, valid while one records() call runs (nothing changes then)
        self._digests: dict[int, bytes] = {}
        # Records name objects by id(): keep them alive so that no id is reused by another object.
        self._keep: List[Any] = []

    def records(self, value: Any) -> List[Dict[str, Any]]:
        """The new records needed to refer to every configuration inside ``value``."""
        roots: list = []
        _configs_in(value, roots)
        out: List[Dict[str, Any]] = []
        self._digests = {}
        for root in roots:
            for config, path in postorder(
                root, recurse_task=True, task_before_init=True, visited=self._written
            ):
                out.append(self._record(config, path))
                self._keep.append(config)
        return out

    def _record(self, config: Any, path: tuple = ()) -> Dict[str, Any]:
        if isinstance(config, TaskStub):
            module, _, name = config.typename.rpartition(".")
            return {
                "id": id(config),
                "module": module,
                "type": name,
                "typename": config.typename,
                "identifier": config.identifier.state_dict(),
                "fields": {},
                "stub": True,
            }
        info: ConfigInformation = config.__xpm__
        xpmtype = info.xpmtype
        record: Dict[str, Any] = {
            "id": id(config),
            "module": xpmtype.module,
            "type": xpmtype.qualname,
            "typename": xpmtype.name(),
            "identifier": self._identifier(config).state_dict(),
        }
        if info.init_tasks:
            record["init-tasks"] = [id(t) for t in info.init_tasks]
        if info.meta:
            record["meta"] = info.meta
        if info.task is not None:
            record["task"] = id(info.task)
        loaded = sys.modules.get(xpmtype.module)
        if loaded is None or not getattr(loaded, "__package__", None):
            filename = getattr(loaded, "__file__", None)
            if filename:
                record["file"] = str(Path(filename).absolute())
        context = self.context
        fields = {argument.name: to_json(value, context) for argument, value in info.xpmvalues()}
        if isinstance(context, SavingContext):
            # save(): DataPath files are copied next to the definition (experimaestro's format)
            context.var_path = [str(p) for p in path]
            for name, serialized in config.__xpm_serialize__(context).items():
                fields[name] = serialized_path_json(serialized)
            context.var_path = []
        record["fields"] = fields
        return record

    def _identifier(self, config: Any) -> Identifier:
        info = config.__xpm__
        if info._identifier is not None:
            return info._identifier
        if info._sealed:
            return info.identifier  # computes and caches
        return compute_identifier(config, cache=self._digests)


def _configs_in(value: Any, out: list) -> None:
    if isinstance(value, (ConfigMixin, TaskStub)):
        out.append(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _configs_in(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _configs_in(item, out)


def _import_class(definition: Dict[str, Any]) -> type:
    module_name = definition["module"]
    qualname = definition["type"]
    module = sys.modules.get(module_name)
    target = _getqualattr(module, qualname) if module is not None else None
    if target is None:
        if "file" in definition:
            module = _import_file(module_name, definition["file"])
        else:
            module = importlib.import_module(module_name)
        target = _getqualattr(module, qualname)
    if target is None:
        raise ImportError(
            f"cannot find class {qualname} in module {module_name} (record {definition['id']})"
        )
    return target


def _getqualattr(module: Any, qualname: str) -> Any:
    target = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def _import_file(module_name: str, filename: str) -> Any:
    # A script's __main__ is another module here: import the file under a different name.
    name = "_main_" if module_name == "__main__" else module_name
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == filename:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, filename)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {filename} (module {module_name})")
    module = importlib.util.module_from_spec(spec)
    if module_name == "__main__":
        from xpm_core.config.xpmtype import MAIN_SCRIPT_FLAG

        setattr(module, MAIN_SCRIPT_FLAG, True)
    sys.modules[name] = module
    directory = str(Path(filename).parent)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(directory)
    return module


def _task_only_ids(definitions: List[Dict[str, Any]], roots: Iterable[int]) -> set[int]:
    """Ids of records only reachable from ``roots`` through ``task`` links (partial loading)."""
    by_id = {d["id"]: d for d in definitions}
    reachable: set[int] = set()
    todo = []
    for root in roots:
        todo.append(root)
        todo.extend(by_id.get(root, {}).get("init-tasks", []))
    while todo:
        current = todo.pop()
        if current in reachable:
            continue
        reachable.add(current)
        record = by_id.get(current)
        if record is not None:
            todo.extend(_references(record.get("fields", {})))
    return set(by_id) - reachable


def references(value: Any) -> Iterable[int]:
    """Object ids referred to (``{"type": "python"}``) in a JSON value."""
    return _references(value)


def _saved_data_path(data: Dict[str, Any], context: DeserializationContext) -> Path:
    """A ``DataPath`` saved by ``save``: relative to the directory it was loaded from."""
    path = Path(data["value"])
    base = getattr(context, "data_directory", None)
    return path if base is None or path.is_absolute() else Path(base) / path


def _references(value: Any) -> Iterable[int]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "python":
                yield item["value"]
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_objects(
    definitions: List[Dict[str, Any]],
    context: DeserializationContext | None = None,
    *,
    partial_loading: bool = False,
    roots: Iterable[int] | None = None,
    discard_id: bool = False,
) -> Dict[int, Any]:
    """Sealed configurations (by record id) from records; tasks count as submitted.

    With ``partial_loading``, tasks only reachable from ``roots`` (default: the last record)
    through ``task`` links are not imported: :class:`TaskStub` objects stand for them.
    """
    context = context or DeserializationContext()
    skipped: set[int] = set()
    if partial_loading and definitions:
        skipped = _task_only_ids(definitions, [definitions[-1]["id"]] if roots is None else roots)
    objects: Dict[int, Any] = {}
    for definition in definitions:
        record_id = definition["id"]
        if record_id in objects:
            raise ValueError(f"duplicate object id {record_id} in serialized objects")
        if record_id in skipped or definition.get("stub"):
            objects[record_id] = TaskStub(
                Identifier.from_state_dict(definition["identifier"]),
                definition.get("typename", definition["type"]),
            )
            continue
        cls: Any = _import_class(definition)
        config_type = cls.C
        config = config_type.__new__(config_type)
        config.__init__()  # defaults; required parameters come from the fields
        objects[record_id] = config

    def resolve(ref: Any) -> Any:
        try:
            return objects[ref]
        except KeyError:
            raise ValueError(
                f"serialized objects refer to object {ref}, which comes later or is missing"
            ) from None

    for definition in definitions:
        config = objects[definition["id"]]
        if isinstance(config, TaskStub):
            continue
        info: ConfigInformation = config.__xpm__
        info.loaded = True
        if info.xpmtype.task:
            info.job = LoadedJob()
        if definition.get("meta"):
            info._meta = definition["meta"]
        arguments = info.xpmtype.arguments
        for name, data in definition.get("fields", {}).items():
            if name not in arguments:
                warnings.warn(
                    f"{info.xpmtype.qualname} has no parameter {name!r} any more: the stored value is ignored",
                    UserWarning,
                    stacklevel=2,
                )
                continue
            if isinstance(data, dict) and data.get("type") == "path.serialized":
                value: Any = _saved_data_path(data, context)
            else:
                value = from_json(data, context, resolve)
            info.set(name, value, bypass=True, location=("<loaded>", 0))
        task = definition.get("task")
        if task is not None:
            info.task = objects[task]
        if definition.get("init-tasks"):
            info.init_tasks = [objects[i] for i in definition["init-tasks"]]
        if not discard_id:
            info._identifier = Identifier.from_state_dict(definition["identifier"])
        info._sealed = True
        info._validated = True
    return objects
