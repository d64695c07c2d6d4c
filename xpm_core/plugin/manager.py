"""Finding and loading plugins: entry points of group ``xpm``, built-ins, and the loading controls."""

from __future__ import annotations

import difflib
import importlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable

import attrs
import pluggy

from xpm_core import __version__
from xpm_core.plugin.hookspecs import PROJECT_NAME, XpmSpecs

#: Entry-point group third-party distributions declare their plugin module in.
ENTRY_POINT_GROUP = "xpm"
#: Environment variable: comma-separated allow-list of plugins to load ("" loads none).
LOAD_PLUGINS_ENV = "XPM_LOAD_PLUGINS"
#: Environment variable: comma-separated plugins never to load.
DISABLE_PLUGINS_ENV = "XPM_DISABLE_PLUGINS"

#: Modules of the core registered through the same hooks as any plugin, always loaded.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "xpm_core.builtin.commands.plugin",
    "xpm_core.builtin.local.plugin",
    "xpm_core.builtin.console.plugin",
    "xpm_core.builtin.serializers.plugin",
)

CORE_DISTRIBUTION = "xpm-core"


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded; xpm goes on without it."""


class PluginStatus:
    """Why a plugin is or is not in use (values shown by ``xpm plugins``)."""

    ACTIVE = "active"
    DISABLED = "disabled"  # listed in XPM_DISABLE_PLUGINS
    NOT_LOADED = "not loaded"  # left out of XPM_LOAD_PLUGINS
    FAILED = "failed"  # import or validation error


@attrs.frozen(kw_only=True)
class PluginRecord:
    """One plugin known to the manager: where it comes from and what became of it."""

    name: str  # entry-point name (third party) or module name (built-in)
    distribution: str
    version: str
    entry_point: str  # "name = module" as declared, "" for built-ins
    status: str
    builtin: bool = False
    error: str = ""


class XpmPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers every plugin it saw, including the ones it skipped."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(XpmSpecs)
        self.records: dict[str, PluginRecord] = {}

    def add_record(self, record: PluginRecord) -> None:
        self.records[record.name] = record

    def provider_of(self, plugin_name: str) -> str:
        """Human-readable provider for messages: ``xpm-slurm (slurm)`` or a built-in module."""
        record = self.records.get(plugin_name)
        if record is None or record.builtin or record.distribution == plugin_name:
            return plugin_name
        return f"{record.distribution} ({record.name})"


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@attrs.frozen
class EntryPoint:
    """An entry point of group ``xpm`` and its distribution: what the manager uses of
    ``importlib.metadata``'s, in a form that can be cached."""

    name: str
    value: str  # "module" or "module:attribute", as declared
    distribution: str = "?"
    version: str = "?"

    def load(self) -> Any:
        """Import the module (and get the attribute) the entry point names."""
        module_name, _, attribute = self.value.partition("[")[0].partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.strip().split(".")):
            target = getattr(target, part)
        return target


def entry_points_cache() -> Path:
    """Where this interpreter's ``xpm`` entry points are cached: ``$XDG_CACHE_HOME/xpm`` (~/.cache/xpm)."""
    import hashlib

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xpm"
    return root / f"entry-points-{hashlib.sha256(sys.executable.encode()).hexdigest()[:16]}.json"


def _installed_key() -> list[Any]:
    """What the installed distributions' entry points depend on: each ``*.dist-info`` (or
    ``*.egg-info``) folder of ``sys.path`` with the size and time of its ``entry_points.txt``
    (a zip file on sys.path: its own). Installing, upgrading or removing a distribution changes it."""
    key: list[Any] = [sys.executable]
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                names = sorted(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
        except NotADirectoryError:
            try:
                info = os.stat(entry)
                key.append([entry, info.st_mtime_ns, info.st_size])
            except OSError:
                pass
            continue
        except OSError:
            continue
        for name in names:
            try:
                info = os.stat(os.path.join(entry or ".", name, "entry_points.txt"))
                key.append([entry, name, info.st_mtime_ns, info.st_size])
            except OSError:
                key.append([entry, name])
    return key


def _scanned_entry_points() -> list[EntryPoint]:
    """The ``xpm`` entry points as ``importlib.metadata`` finds them (reading every distribution)."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found.append(EntryPoint(ep.name, ep.value, *((dist.name, dist.version) if dist is not None else ())))
    return found


def _entry_points() -> list[EntryPoint]:
    # Scanning the distributions costs tens of milliseconds, paid by every driver (its events
    # go to the plugins): reused from the cache while no distribution of sys.path changed.
    cache, key = entry_points_cache(), _installed_key()
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        scanned = [EntryPoint(*fields) for fields in cached["entry_points"]] if cached["key"] == key else None
    except (OSError, ValueError, KeyError, TypeError):
        scanned = None
    if scanned is None:
        scanned = _scanned_entry_points()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"key": key, "entry_points": [attrs.astuple(ep) for ep in scanned]}),
                                 encoding="utf-8")
            os.replace(temporary, cache)
        except OSError:
            pass  # a cache only: the next process scans again
    seen: dict[tuple[str, str], EntryPoint] = {}
    for ep in scanned:
        # A stale *.egg-info beside an editable install makes a distribution appear twice.
        seen.setdefault((ep.distribution, ep.name), ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _dist_info(ep: EntryPoint) -> tuple[str, str]:
    return ep.distribution, ep.version


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hook implementations of ``plugin`` that match no spec (usually a misspelling)."""
    unknown = []
    for caller in pm.get_hookcallers(plugin) or []:
        if not caller.has_spec() and any(
            impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()
        ):
            unknown.append(caller.name)
    return unknown


def _describe_unknown_hook(name: str) -> str:
    known = [n for n in dir(XpmSpecs) if n.startswith("xpm_")]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown hook {name!r}{hint}"


def _register(pm: XpmPluginManager, module: object, name: str) -> str | None:
    """Register ``module``; on failure unregister it and return why."""
    try:
        pm.register(module, name=name)
    except pluggy.PluginValidationError as exc:
        # pluggy's message spans several lines; warnings are one line each.
        details = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return f"invalid hook implementation: {details}"
    unknown = _unknown_hooks(pm, module)
    if unknown:
        pm.unregister(module)
        return "; ".join(_describe_unknown_hook(hook) for hook in unknown)
    return None


def _load_entry_point(pm: XpmPluginManager, ep: EntryPoint) -> None:
    dist_name, version = _dist_info(ep)
    error: str | None
    try:
        module = ep.load()
    except Exception as exc:  # a broken plugin must never take xpm down with it
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = _register(pm, module, ep.name)
    if error:
        warnings.warn(
            f"plugin {dist_name} ({ep.name}) was not loaded: {error}",
            PluginLoadWarning,
            stacklevel=3,
        )
    pm.add_record(
        PluginRecord(
            name=ep.name,
            distribution=dist_name,
            version=version,
            entry_point=f"{ep.name} = {ep.value}",
            status=PluginStatus.FAILED if error else PluginStatus.ACTIVE,
            error=error or "",
        )
    )


def _selected(ep: EntryPoint, names: Iterable[str]) -> bool:
    dist_name, _ = _dist_info(ep)
    return ep.name in names or dist_name in names


def make_plugin_manager(
    *, load_entrypoints: bool = True, extra_plugins: Iterable[tuple[str, object]] = ()
) -> XpmPluginManager:
    """Build a plugin manager: built-ins, then installed plugins allowed by the environment.

    :param load_entrypoints: ``False`` loads built-ins only (what the core's own tests use).
    :param extra_plugins: ``(name, module_or_object)`` pairs registered as well; tests use it
        to add a plugin without installing a distribution.
    """
    pm = XpmPluginManager()
    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        pm.add_record(
            PluginRecord(
                name=module_name,
                distribution=CORE_DISTRIBUTION,
                version=__version__,
                entry_point="",
                status=PluginStatus.ACTIVE,
                builtin=True,
            )
        )

    if load_entrypoints:
        _load_installed(pm)

    for name, plugin in extra_plugins:
        error = _register(pm, plugin, name)
        status = PluginStatus.FAILED if error else PluginStatus.ACTIVE
        if error:
            warnings.warn(f"plugin {name} was not loaded: {error}", PluginLoadWarning, stacklevel=2)
        pm.add_record(
            PluginRecord(
                name=name,
                distribution=name,
                version="",
                entry_point="",
                status=status,
                error=error or "",
            )
        )
    # Every plugin was checked as it was registered; this guards the invariant.
    pm.check_pending()
    return pm


def _load_installed(pm: XpmPluginManager) -> None:
    disabled = set(_csv(os.environ.get(DISABLE_PLUGINS_ENV)))
    allow_value = os.environ.get(LOAD_PLUGINS_ENV)
    allowed = None if allow_value is None else set(_csv(allow_value))
    eps = _entry_points()

    known = {ep.name for ep in eps} | {_dist_info(ep)[0] for ep in eps}
    for variable, names in ((LOAD_PLUGINS_ENV, allowed or set()), (DISABLE_PLUGINS_ENV, disabled)):
        for unknown in sorted(names - known):
            warnings.warn(
                f"{variable} names {unknown!r}, which is not an installed plugin "
                f"(installed: {', '.join(sorted(ep.name for ep in eps)) or 'none'})",
                PluginLoadWarning,
                stacklevel=3,
            )

    for ep in eps:
        dist_name, version = _dist_info(ep)
        status = None
        if _selected(ep, disabled):
            pm.set_blocked(ep.name)
            status = PluginStatus.DISABLED
        elif allowed is not None and not _selected(ep, allowed):
            status = PluginStatus.NOT_LOADED
        if status is not None:
            pm.add_record(
                PluginRecord(
                    name=ep.name,
                    distribution=dist_name,
                    version=version,
                    entry_point=f"{ep.name} = {ep.value}",
                    status=status,
                )
            )
            continue
        _load_entry_point(pm, ep)
