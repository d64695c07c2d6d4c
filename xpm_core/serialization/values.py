"""Parameter values to and from JSON: natives and containers here, other types through the serializers hook."""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable, Dict

from xpm_core.config.objects import ConfigMixin
from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext, ValueSerializer

# Serializer instances by SerializerType name, and the choice per Python class: the registry
# walks the MRO and loads plugins, which is too slow to repeat for every value.
_instances: Dict[str, ValueSerializer] = {}
_by_class: Dict[type, ValueSerializer | None] = {}
_by_tag: Dict[str, ValueSerializer] = {}


class SerializationError(TypeError):
    """A value has no JSON form (no serializer declared for its type)."""


def _registry() -> Any:
    from xpm_core.plugin.registry import get_registry  # noqa: PLC0415 - loads plugins, only when needed

    return get_registry()


def _instance(serializer_type: Any) -> ValueSerializer:
    serializer = _instances.get(serializer_type.name)
    if serializer is None:
        serializer = _instances[serializer_type.name] = serializer_type.create()
    return serializer


def serializer_for_value(value: Any) -> ValueSerializer | None:
    """The serializer for ``value``'s class (or nearest base), None when no plugin declares one."""
    cls = type(value)
    if cls in _by_class:
        return _by_class[cls]
    serializer_type = _registry().serializer_for_type(cls)
    serializer = None if serializer_type is None else _instance(serializer_type)
    _by_class[cls] = serializer
    return serializer


def serializer_for_tag(tag: str) -> ValueSerializer | None:
    """The serializer reading ``{"type": tag}`` objects, None when no plugin declares it."""
    serializer = _by_tag.get(tag)
    if serializer is not None:
        return serializer
    from xpm_core.builtin.serializers.standard_types import BUILTIN_TAGS  # noqa: PLC0415

    builtin = BUILTIN_TAGS.get(tag)
    if builtin is not None:
        # the registry gives built-ins precedence for their tags: no need to load every plugin
        serializer = builtin()
    else:
        serializer_type = _registry().serializer_for_tag(tag)
        if serializer_type is None:
            return None
        serializer = _instance(serializer_type)
    _by_tag[tag] = serializer
    return serializer


def reset_serializer_cache() -> None:
    """Forget chosen serializers (after plugins changed, in tests)."""
    _instances.clear()
    _by_class.clear()
    _by_tag.clear()


def to_json(value: Any, context: SerializationContext) -> Any:
    """The JSON form of a parameter value; configurations become ``{"type": "python", "value": id}``."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, ConfigMixin):
        return {"type": "python", "value": id(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v, context) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"type": "set", "items": [to_json(v, context) for v in value]}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, Enum):
                raise SerializationError(
                    f"cannot write a dict key of type {type(key).__qualname__} ({key!r}) to JSON"
                )
            out[key] = to_json(item, context)
        return out
    serializer = serializer_for_value(value)
    if serializer is not None:
        return serializer.serialize(value, context)
    if isinstance(value, (str, int, float)):  # subclasses without a serializer: their plain value
        return value
    raise SerializationError(
        f"no serializer for values of type {type(value).__module__}.{type(value).__qualname__} ({value!r}): "
        "a plugin can declare one with the xpm_serializers hook"
    )


def from_json(data: Any, context: DeserializationContext, resolve: Callable[[Any], Any]) -> Any:
    """The value of a JSON form; ``resolve(id)`` returns the object written as ``{"type": "python"}``."""
    if isinstance(data, list):
        return [from_json(v, context, resolve) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("type")
    if tag is None or not isinstance(tag, str):
        return {key: from_json(v, context, resolve) for key, v in data.items()}
    if tag == "python":
        return resolve(data["value"])
    if tag == "set":
        return {from_json(v, context, resolve) for v in data["items"]}
    serializer = serializer_for_tag(tag)
    if serializer is None:
        raise SerializationError(
            f"no serializer reads values of type {tag!r} ({data!r}): the plugin that wrote it may be missing"
        )
    return serializer.deserialize(data, context)
