"""The parameters that differ between two jobs, read from their ``params.json`` without importing their code.

Two sub-configurations with the same identifier are equal as far as the job identity goes:
the comparison does not look inside them (they may still differ in meta-parameters).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import attrs

from xpm_core.serialization.params import PARAMS_FILE, check_params_version

ABSENT = object()  # a field one side does not have


class ParamsFileError(ValueError):
    """A file that is not a readable params.json; the message names the file."""


@attrs.frozen(eq=False)
class ObjectRecord:
    """One configuration of a params.json: its type, identifier and fields (references resolved)."""

    typename: str
    identifier: str
    fields: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.typename}({self.identifier[:12]})"


@attrs.frozen
class Difference:
    """A parameter whose value differs: its dotted path and both values (``ABSENT`` when missing)."""

    path: str
    left: Any
    right: Any

    def __str__(self) -> str:
        return f"{self.path or 'task'}: {show(self.left)} → {show(self.right)}"


def params_path(path: Path) -> Path:
    """``path`` itself, or the params.json of the job folder ``path``."""
    return path / PARAMS_FILE if path.is_dir() else path


def load_params(path: Path) -> ObjectRecord:
    """The task of a params.json (its last object), with every reference replaced by its record."""
    file = params_path(path)
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsFileError(f"{path} is a folder without {PARAMS_FILE}: is it a job folder?") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ParamsFileError(f"cannot read {file}: {error}") from None
    except ValueError as error:
        raise ParamsFileError(f"{file} is not valid JSON: {error}") from None
    if not isinstance(content, dict) or not isinstance(content.get("objects"), list) or not content["objects"]:
        raise ParamsFileError(f"{file} is not a params.json (no list of objects in it)")
    try:
        check_params_version(content, str(file))
        records: dict[Any, ObjectRecord] = {}
        for item in content["objects"]:
            record = ObjectRecord(
                typename=item.get("typename") or f"{item['module']}.{item['type']}",
                identifier=item.get("identifier", ""),
                fields={},
            )
            record.fields.update({name: _value(value, records) for name, value in item.get("fields", {}).items()})
            records[item["id"]] = record
        return records[content["objects"][-1]["id"]]
    except (KeyError, TypeError, AttributeError) as error:
        raise ParamsFileError(f"{file} is not a params.json this xpm understands ({type(error).__name__}: {error})") from None


def _value(value: Any, records: dict[Any, ObjectRecord]) -> Any:
    if isinstance(value, list):
        return [_value(item, records) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    if kind == "python":
        return records[value["value"]]
    if kind == "set":
        return {"type": "set", "items": sorted((_value(i, records) for i in value["items"]), key=repr)}
    if kind in ("path", "path.serialized", "enum"):
        return value  # compared as they are stored; shown by show()
    return {key: _value(item, records) for key, item in value.items()}


def differences(left: Any, right: Any, path: str = "") -> Iterator[Difference]:
    """Every difference between two values, depth first; objects are compared field by field."""
    if isinstance(left, ObjectRecord) and isinstance(right, ObjectRecord):
        if left.typename != right.typename:
            yield Difference(path, left, right)
            return
        if path and left.identifier == right.identifier:
            return  # same identity: whatever differs inside cannot explain a different job
        for name in sorted(set(left.fields) | set(right.fields)):
            yield from differences(left.fields.get(name, ABSENT), right.fields.get(name, ABSENT), _join(path, name))
    elif _is_plain_dict(left) and _is_plain_dict(right):
        for key in sorted(set(left) | set(right), key=str):
            yield from differences(left.get(key, ABSENT), right.get(key, ABSENT), _join(path, str(key)))
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for position, (a, b) in enumerate(zip(left, right)):
            yield from differences(a, b, f"{path}[{position}]")
    elif not _same(left, right):
        yield Difference(path, left, right)


def _is_plain_dict(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") not in ("path", "path.serialized", "enum", "set")


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, ObjectRecord) or isinstance(right, ObjectRecord):
        return isinstance(left, ObjectRecord) and isinstance(right, ObjectRecord) and left.identifier == right.identifier
    # 1 and 1.0 hash differently, and True is not 1: compare types too
    return type(left) is type(right) and left == right


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def show(value: Any) -> str:
    """A value as the difference lines write it."""
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, ObjectRecord):
        return str(value)
    if isinstance(value, dict) and value.get("type") in ("path", "path.serialized"):
        base = value.get("base")
        return f"path {base + ':' if base else ''}{value.get('value')}"
    if isinstance(value, dict) and value.get("type") == "enum":
        return f"{value.get('enum')}.{value.get('value')}"
    if isinstance(value, dict) and value.get("type") == "set":
        return "{" + ", ".join(show(item) for item in value["items"]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {show(item)}" for key, item in value.items()) + "}"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def compare(left_path: Path, right_path: Path) -> tuple[ObjectRecord, ObjectRecord, list[Difference]]:
    """Both tasks and their differences."""
    left, right = load_params(left_path), load_params(right_path)
    return left, right, list(differences(left, right))

