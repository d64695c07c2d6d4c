"""Tags: ``tag(v)``, ``stop_tags(v)``, ``tags(cfg)`` collected over the whole tree, ``tagspath``."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from xpm_core.config.errors import Location, format_location

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigInformation, ConfigMixin


class TagConflictWarning(UserWarning):
    """Two configurations of one tree tag the same name with different values."""


class ConfigWrapper:
    """A parameter value with flags for its parent: ``tagged`` (a tag) and ``stop_tags`` (a tag barrier)."""

    __slots__ = ("value", "tagged", "stop_tags")

    def __init__(self, value: Any, *, tagged: bool = False, stop_tags: bool = False) -> None:
        self.value = value
        self.tagged = tagged
        self.stop_tags = stop_tags

    @staticmethod
    def ensure(value: Any) -> ConfigWrapper:
        return value if isinstance(value, ConfigWrapper) else ConfigWrapper(value)

    def apply(self, info: ConfigInformation, name: str, location: Location) -> None:
        """Record the flags on the configuration receiving the value as parameter ``name``."""
        if self.tagged:
            info.addtag(name, self.value, location)
        if self.stop_tags:
            info.own("args_properties").setdefault(name, set()).add("stop_tags")


def tag(value: Any) -> ConfigWrapper:
    """Mark a parameter value as a tag: ``Model.C(hidden=tag(128))`` tags ``hidden=128``."""
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415 - cycle

    inner = value.value if isinstance(value, ConfigWrapper) else value
    if isinstance(inner, ConfigMixin):
        # A tag is a value shown in job lists and directory names; a configuration has no such
        # short form (its str() is long and not stable), so tagging one is refused, not guessed.
        raise TypeError(
            f"tag() takes a plain value (number, string, bool), not the configuration {inner!r}: "
            "tag one of its parameters instead, e.g. Model.C(hidden=tag(128))"
        )
    wrapper = ConfigWrapper.ensure(value)
    wrapper.tagged = True
    return wrapper


def stop_tags(value: Any) -> ConfigWrapper:
    """Keep the tags of a sub-configuration (or an init task) from reaching the parent."""
    wrapper = ConfigWrapper.ensure(value)
    wrapper.stop_tags = True
    return wrapper


class TagDict(Mapping[str, Any]):
    """Tags sorted by name; read-only and hashable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"TagDict({self._items!r})"


def collect_tags(config: ConfigMixin) -> dict[str, Any]:
    """Tags of ``config`` and everything below it (task outputs' tasks and init tasks included).

    Sub-configurations come first, so a configuration's own tags win; differing values for one
    name warn with both locations.
    """
    from xpm_core.config.walk import postorder  # noqa: PLC0415

    found: dict[str, tuple[Any, Location | None]] = {}

    def skip_arg(cfg: ConfigMixin, name: str) -> bool:
        props = cfg.__xpm__.args_properties.get(name)
        return props is not None and "stop_tags" in props

    def skip_init_task(cfg: ConfigMixin, init_task: Any) -> bool:
        return id(init_task) in cfg.__xpm__.stop_tags_init_tasks

    for cfg, _ in postorder(
        config, recurse_task=True, skip_arg=skip_arg, skip_init_task=skip_init_task
    ):
        for name, (value, location) in cfg.__xpm__.tags_.items():
            previous = found.get(name)
            if previous is not None and previous[0] != value:
                warnings.warn(
                    f"tag {name!r} has two values in {config.__xpmtype__.display_name}: {previous[0]!r} "
                    f"(set at {format_location(previous[1])}) and {value!r} (set at {format_location(location)}); "
                    f"using {value!r}",
                    TagConflictWarning,
                    stacklevel=3,
                )
            found[name] = (value, location)
    return {name: value for name, (value, _) in found.items()}


def tags(config: ConfigMixin) -> TagDict:
    """The tags of a configuration tree, sorted by name."""
    return TagDict(collect_tags(config))


def _path_component(value: Any) -> Any:
    return value.replace("/", "-") if isinstance(value, str) else value


def tagspath(config: ConfigMixin) -> str:
    """``k1=v1_k2=v2`` from the sorted tags (``/`` replaced by ``-``), for directory names."""
    return "_".join(f"{_path_component(k)}={_path_component(v)}" for k, v in tags(config).items())
