"""``cfg.instance()``: plain objects built from a configuration tree, shared sub-objects kept shared."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from xpm_core.config.objects import ConfigMixin
from xpm_core.config.walk import postorder

if TYPE_CHECKING:
    from xpm_core.config.generators import GenerationContext


def _convert(value: Any, built: Dict[int, Any]) -> Any:
    """A parameter value with configurations replaced by their objects (containers rebuilt)."""
    if isinstance(value, ConfigMixin):
        return built[id(value)]
    if isinstance(value, list):
        return [_convert(v, built) for v in value]
    if isinstance(value, tuple):
        return tuple(_convert(v, built) for v in value)
    if isinstance(value, dict):
        return {k: _convert(v, built) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(_convert(v, built) for v in value)
    return value


def build_instance(
    config: ConfigMixin,
    context: GenerationContext | None = None,
    *,
    objects: Dict[int, Any] | None = None,
    keep: bool = True,
) -> Any:
    """Validate and seal ``config``, then build its value objects, children first.

    ``objects`` (id of configuration -> object) lets several calls share what they built; with
    ``keep`` each object records its configuration (``obj.xpmconfig``).
    """
    config.__xpm__.validate()
    config.__xpm__.seal(context)
    built: Dict[int, Any] = {} if objects is None else objects
    order = [cfg for cfg, _ in postorder(config, enter=lambda c: id(c) not in built)]
    # Objects exist before any attribute is set, so that cycles resolve to the same objects.
    fresh = []
    for cfg in order:
        value_type: Any = cfg.__xpmtype__.value_type
        obj = value_type.__new__(value_type)
        obj.__init__()
        built[id(cfg)] = obj
        fresh.append((cfg, obj))
    for cfg, obj in fresh:
        for name, value in cfg.__xpm__.values.items():
            setattr(obj, name, _convert(value, built))
        if keep:
            obj.__dict__["__config__"] = cfg
        obj.__post_init__()
    return built[id(config)]
