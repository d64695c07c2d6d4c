"""Which configuration and task classes of a package its documentation (a Sphinx inventory) leaves out."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Iterable

import attrs


@attrs.frozen
class DocumentationReport:
    """The package's configuration classes, those not documented, and the modules that did not import."""

    configurations: list[str]  # fully qualified names where they are defined
    undocumented: list[str]
    import_errors: list[str]  # "module: error"


def _modules(module: ModuleType, errors: list[str]) -> list[ModuleType]:
    """``module`` and, for a package, every module under it that imports (failures go to ``errors``)."""
    found = [module]
    for info in pkgutil.iter_modules(getattr(module, "__path__", []), prefix=f"{module.__name__}."):
        try:
            submodule = importlib.import_module(info.name)
        except Exception as error:  # a broken module is reported, the others still checked
            errors.append(f"{info.name}: {type(error).__name__}: {error}")
            continue
        found.extend(_modules(submodule, errors) if info.ispkg else [submodule])
    return found


def analyze(package_name: str, documented: set[str], skip: Iterable[str] = ()) -> DocumentationReport:
    """Compare the Config subclasses defined in ``package_name`` with the ``documented`` names.

    A class counts as documented under any name the package exposes it by (``pkg.Model`` for
    ``pkg.models.Model`` re-exported by ``pkg/__init__.py``). ``skip``: sub-packages or modules,
    absolute or relative to the package, whose classes are not checked.
    """
    from xpm_core.config.objects import Config

    package = importlib.import_module(package_name)
    errors: list[str] = []
    names: dict[type, set[str]] = {}
    for module in _modules(package, errors):
        for attribute, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Config) and value.__module__.startswith(package_name):
                names.setdefault(value, set()).add(f"{module.__name__}.{attribute}")
    prefixes = [name if name.startswith(package_name) else f"{package_name}.{name}" for name in skip if name]
    configurations, undocumented = [], []
    for cls, exposed in names.items():
        defined = f"{cls.__module__}.{cls.__qualname__}"
        if any(defined == prefix or defined.startswith(prefix + ".") for prefix in prefixes):
            continue
        configurations.append(defined)
        if not ({defined} | exposed) & documented:
            undocumented.append(defined)
    return DocumentationReport(sorted(configurations), sorted(undocumented), errors)
