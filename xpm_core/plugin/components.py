"""Descriptors that plugins return from registration hooks: a name, a summary and a lazy factory."""

from __future__ import annotations

import pkgutil
import re
from typing import Any, Callable, ClassVar, Iterable, Mapping, Optional, Union

import attrs

#: A factory is either the object itself or a ``"module:attr"`` string imported on first use,
#: which keeps ``xpm plugins`` and ``xpm --help`` from importing fabric, flask and the like.
Factory = Union[str, Callable[..., Any]]

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid component name, or ``None`` when it is valid."""
    if not isinstance(name, str):
        return f"a component name must be a string, not {type(name).__name__}"
    if not _NAME_PATTERN.match(name):
        return (
            f"invalid component name {name!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter (for example 'slurm')"
        )
    return None


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def resolve(reference: Factory | type | None) -> Any:
    """Import a ``"module:attr"`` reference (objects are returned as they are)."""
    if isinstance(reference, str):
        return pkgutil.resolve_name(reference)
    return reference


@attrs.frozen(kw_only=True)
class ComponentType:
    """Common shape of every descriptor; subclasses only say which kind of component they describe."""

    kind: ClassVar[str] = "component"

    #: Unique (per kind), lowercase name: ``launcher: slurm`` in YAML, ``--slurm-*`` options.
    name: str
    #: The class or function building the component, or its ``"module:attr"`` path.
    factory: Factory = attrs.field(repr=False)
    #: One line shown by ``xpm plugins`` and in help texts.
    summary: str = ""
    #: An attrs class (or its ``"module:attr"`` path) describing the component's settings.
    settings: Union[type, str, None] = attrs.field(default=None, repr=False)

    def load(self) -> Any:
        """The factory itself, importing its module if it was given as a string."""
        return resolve(self.factory)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        """Build the component by calling its factory."""
        return self.load()(*args, **kwargs)

    def load_settings(self) -> type | None:
        """The settings class, importing it if it was given as a string."""
        return resolve(self.settings)

    @property
    def factory_module(self) -> str | None:
        """The module the factory lives in, without importing it (used to attribute providers)."""
        if isinstance(self.factory, str):
            return self.factory.partition(":")[0]
        return getattr(self.factory, "__module__", None)


@attrs.frozen(kw_only=True)
class ConnectorType(ComponentType):
    """A connector: where jobs run (local machine, SSH host)."""

    kind: ClassVar[str] = "connector"


@attrs.frozen(kw_only=True)
class LauncherType(ComponentType):
    """A launcher: how jobs are started (direct process, Slurm, OAR)."""

    kind: ClassVar[str] = "launcher"


@attrs.frozen(kw_only=True)
class SerializerType(ComponentType):
    """A value serializer: writes values of some Python types to JSON and reads them back."""

    kind: ClassVar[str] = "serializer"

    #: ``"module:QualName"`` of the classes handled (subclasses included), matched without import.
    python_types: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: The JSON ``type`` tags this serializer reads back; defaults to ``(name,)``.
    type_tags: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @property
    def tags(self) -> tuple[str, ...]:
        """The JSON ``type`` tags this serializer claims."""
        return self.type_tags or (self.name,)


@attrs.frozen(kw_only=True)
class MonitorType(ComponentType):
    """A monitor: a live view of experiments (console, web UI)."""

    kind: ClassVar[str] = "monitor"


@attrs.frozen(kw_only=True)
class CommandType(ComponentType):
    """An ``xpm`` sub-command; the factory resolves to a :class:`click.Command`."""

    kind: ClassVar[str] = "command"
    #: The core group the command goes under: ``None`` for ``xpm NAME``, ``"experiments"`` for
    #: ``xpm experiments NAME`` (the only core group plugins extend).
    parent: Optional[str] = attrs.field(default=None, validator=attrs.validators.in_([None, "experiments"]))


@attrs.frozen(kw_only=True)
class SkillSectionType(ComponentType):
    """A reference section of the agent skill (``xpm install-skill``) about what a plugin adds.

    The factory returns the section's Markdown text (a ``str``, or a callable returning one);
    the skill installer writes it as ``references/<name>.md`` and links it from ``SKILL.md``.
    """

    kind: ClassVar[str] = "skill section"

    #: The section's title in the skill's index.
    title: str = ""


#: Registration hook name -> descriptor class it must yield.
REGISTRATION_HOOKS: Mapping[str, type[ComponentType]] = {
    "xpm_connectors": ConnectorType,
    "xpm_launchers": LauncherType,
    "xpm_serializers": SerializerType,
    "xpm_monitors": MonitorType,
    "xpm_commands": CommandType,
    "xpm_skill_sections": SkillSectionType,
}


@attrs.frozen
class ConnectorMatch:
    """The answer of ``xpm_connector_for_url``: which connector, built with which options."""

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)
