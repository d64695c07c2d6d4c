"""The typed facade over the plugin manager, and the one registry of the process that everything uses.

Core code never calls hooks directly: it asks :func:`get_registry` for components and sends it
events. ``make_cli(pm)``, the test fixtures and embedding applications install their own
registry with :func:`install_registry` (or :func:`use_registry` for a block), so that the
scheduler, the monitors, the serializers and the contracts all see the same plugins.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Iterator, Mapping, TypeVar

import attrs

from xpm_core.plugin.components import (
    REGISTRATION_HOOKS,
    CommandType,
    ComponentType,
    ConnectorMatch,
    ConnectorType,
    LauncherType,
    MonitorType,
    SerializerType,
    SkillSectionType,
    name_problem,
)
from xpm_core.plugin.manager import PluginLoadWarning

if TYPE_CHECKING:
    from xpm_core.plugin.events import ExperimentView, JobView
    from xpm_core.plugin.job_state import JobState
    from xpm_core.plugin.manager import XpmPluginManager

logger = logging.getLogger("xpm.plugins")

C = TypeVar("C", bound=ComponentType)


class UnknownComponentError(KeyError):
    """A component was asked for by a name no plugin provides."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; the message is meant for people.
        return str(self.args[0])


class UnhandledURLError(LookupError):
    """No connector claims a URL."""


@attrs.frozen
class Registered(Generic[C]):
    """A component together with the plugin that provided it."""

    component: C
    plugin: str  # pluggy plugin name
    provider: str  # for messages: "xpm-slurm (slurm)" or a built-in module


class Components(Mapping[str, C]):
    """The components of one kind, by name, remembering who provided each."""

    def __init__(self, kind: str, entries: dict[str, Registered[C]]) -> None:
        self.kind = kind
        self._entries = entries

    def __getitem__(self, name: str) -> C:
        try:
            return self._entries[name].component
        except KeyError:
            available = ", ".join(sorted(self._entries)) or "none"
            raise UnknownComponentError(
                f"no {self.kind} named {name!r} is installed (available: {available}); "
                f"run 'xpm plugins' to see what is installed"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def provider(self, name: str) -> str:
        """Who provides the component called ``name``."""
        return self._entries[name].provider

    def plugin_of(self, name: str) -> str:
        """The pluggy name of the plugin providing ``name``."""
        return self._entries[name].plugin


class PluginRegistry:
    """Components declared by the loaded plugins, validated once; and guarded event delivery."""

    def __init__(self, pm: XpmPluginManager) -> None:
        self.pm = pm
        #: Problems found while collecting components (also issued as PluginLoadWarning).
        self.problems: list[str] = []

    # ---- registration --------------------------------------------------------------------

    @cached_property
    def _by_hook(self) -> dict[str, Components[Any]]:
        return {hook: self._collect(hook, cls) for hook, cls in REGISTRATION_HOOKS.items()}

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        warnings.warn(message, PluginLoadWarning, stacklevel=4)

    def _collect(self, hook_name: str, cls: type[C]) -> Components[C]:
        entries: dict[str, Registered[C]] = {}
        # get_hookimpls() lists implementations in registration order (built-ins first), so
        # on a name conflict the first provider keeps the name and the later one is reported.
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            provider = self.pm.provider_of(impl.plugin_name)
            try:
                declared = list(impl.function() or ())
            except Exception as exc:  # one broken plugin must not hide the others' components
                self._problem(f"{provider}: {hook_name}() failed: {type(exc).__name__}: {exc}")
                continue
            for component in declared:
                if not isinstance(component, cls):
                    self._problem(
                        f"{provider}: {hook_name}() yielded {component!r}, "
                        f"expected {cls.__name__} objects"
                    )
                    continue
                problem = name_problem(component.name)
                if problem:
                    self._problem(f"{provider}: {cls.kind} skipped: {problem}")
                    continue
                existing = entries.get(component.name)
                if existing is not None:
                    self._problem(
                        f"{cls.kind} {component.name!r} is provided by both {existing.provider} "
                        f"and {provider}; using the one from {existing.provider} "
                        f"(set XPM_DISABLE_PLUGINS to choose)"
                    )
                    continue
                entries[component.name] = Registered(component, impl.plugin_name, provider)
        return Components(cls.kind, entries)

    def connectors(self) -> Components[ConnectorType]:
        """Installed connectors by name."""
        return self._by_hook["xpm_connectors"]

    def launchers(self) -> Components[LauncherType]:
        """Installed launchers by name."""
        return self._by_hook["xpm_launchers"]

    def serializers(self) -> Components[SerializerType]:
        """Installed value serializers by name."""
        return self._by_hook["xpm_serializers"]

    def monitors(self) -> Components[MonitorType]:
        """Installed monitors by name."""
        return self._by_hook["xpm_monitors"]

    def commands(self) -> Components[CommandType]:
        """Sub-commands contributed to ``xpm`` by name."""
        return self._by_hook["xpm_commands"]

    def skill_sections(self) -> Components[SkillSectionType]:
        """Reference sections plugins add to the agent skill, by name."""
        return self._by_hook["xpm_skill_sections"]

    def components(self) -> Mapping[str, Components[Any]]:
        """Every kind of component: ``{"launcher": ..., "connector": ...}``."""
        return {entries.kind: entries for entries in self._by_hook.values()}

    # ---- dispatch ------------------------------------------------------------------------

    def connector_for_url(self, url: str) -> ConnectorMatch:
        """Which connector handles ``url``; a clear error when none does."""
        match = self.pm.hook.xpm_connector_for_url(url=url)
        if match is None:
            installed = ", ".join(sorted(self.connectors())) or "none"
            raise UnhandledURLError(
                f"no installed connector handles {url!r} (installed connectors: {installed}); "
                "a plugin may be missing, e.g. 'pip install xpm-ssh' for ssh:// locations"
            )
        return match

    @cached_property
    def _serializers_by_type(self) -> dict[str, SerializerType]:
        serializers = self.serializers()
        by_type: dict[str, SerializerType] = {}
        # Third-party serializers take precedence so a plugin can refine a built-in's type.
        ordered = sorted(serializers, key=lambda n: self.pm.records[serializers.plugin_of(n)].builtin)
        for name in ordered:
            for python_type in serializers[name].python_types:
                by_type.setdefault(python_type, serializers[name])
        return by_type

    @cached_property
    def _serializers_by_tag(self) -> dict[str, SerializerType]:
        by_tag: dict[str, SerializerType] = {}
        for serializer in self.serializers().values():
            for tag in serializer.tags:
                by_tag.setdefault(tag, serializer)
        return by_tag

    def serializer_for_type(self, cls: type) -> SerializerType | None:
        """The serializer declared for ``cls`` or its nearest base class, if any."""
        by_type = self._serializers_by_type
        for base in cls.__mro__:
            serializer = by_type.get(f"{base.__module__}:{base.__qualname__}")
            if serializer is not None:
                return serializer
        return None

    def serializer_for_tag(self, tag: str) -> SerializerType | None:
        """The serializer that reads JSON values tagged ``{"type": tag}``, if any."""
        return self._serializers_by_tag.get(tag)

    # ---- events --------------------------------------------------------------------------

    def _broadcast(self, hook_name: str, **kwargs: Any) -> None:
        # pluggy stops a broadcast at the first exception; call each implementation alone so a
        # broken monitor neither hides the others nor reaches the scheduler.
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception:
                logger.exception(
                    "%s: %s raised; the event was ignored by that plugin",
                    self.pm.provider_of(impl.plugin_name),
                    hook_name,
                )

    def experiment_started(self, experiment: ExperimentView) -> None:
        """Tell every plugin that ``experiment`` started."""
        self._broadcast("xpm_experiment_started", experiment=experiment)

    def job_state_changed(self, job: JobView, previous: JobState, current: JobState) -> None:
        """Tell every plugin that ``job`` went from ``previous`` to ``current``."""
        self._broadcast("xpm_job_state_changed", job=job, previous=previous, current=current)

    def experiment_finished(self, experiment: ExperimentView, failed: bool) -> None:
        """Tell every plugin that ``experiment`` ended."""
        self._broadcast("xpm_experiment_finished", experiment=experiment, failed=failed)

    # ---- introspection -------------------------------------------------------------------

    def hooks_of(self, plugin_name: str) -> list[str]:
        """Names of the hooks a loaded plugin implements."""
        plugin = self.pm.get_plugin(plugin_name)
        if plugin is None:
            return []
        return sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    def provided_by(self, plugin_name: str) -> dict[str, list[str]]:
        """What a plugin provides: ``{"launchers": ["slurm"], "skill_sections": [...]}`` (kinds in plural)."""
        provided: dict[str, list[str]] = {}
        for kind, entries in self.components().items():
            names = [name for name in entries if entries.plugin_of(name) == plugin_name]
            if names:
                provided[kind.replace(" ", "_") + "s"] = sorted(names)
        return provided


# ---- the process's registry ------------------------------------------------------------------

_installed: PluginRegistry | None = None
_install_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The registry of this process: the installed one, else one over the installed plugins.

    The default is built once, on first use (loading entry points costs), and then kept.
    """
    global _installed
    registry = _installed
    if registry is None:
        with _install_lock:
            if _installed is None:
                from xpm_core.plugin.manager import make_plugin_manager

                _installed = PluginRegistry(make_plugin_manager())
            registry = _installed
    return registry


def install_registry(registry: PluginRegistry | None) -> PluginRegistry | None:
    """Make ``registry`` the one every part of xpm uses from now on; returns the previous one.

    ``None`` forgets the installed registry: the next :func:`get_registry` builds the default.
    """
    global _installed
    with _install_lock:
        previous, _installed = _installed, registry
    return previous


@contextlib.contextmanager
def use_registry(registry: PluginRegistry) -> Iterator[PluginRegistry]:
    """Install ``registry`` for the ``with`` block, then put the previous one back."""
    previous = install_registry(registry)
    try:
        yield registry
    finally:
        install_registry(previous)
