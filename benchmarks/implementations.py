"""The implementation switch: which package (xpm_core or experimaestro) a workload imports."""

from __future__ import annotations

import importlib
import importlib.metadata
from types import ModuleType
from typing import Iterable, Optional

# Implementation key -> package providing the common API (Config, Param, Task, ...).
PACKAGES: dict[str, str] = {
    "xpm": "xpm_core",
    "experimaestro": "experimaestro",
}


def load_implementation(key: str, requires: Iterable[str]) -> ModuleType:
    """Import the package of implementation ``key`` and check that it exports ``requires``.

    Raises ImportError (like ``from package import name`` would) when a name is missing.
    """
    package = PACKAGES[key]
    module = importlib.import_module(package)
    missing = []
    for name in requires:
        # getattr rather than hasattr: a lazily exported name may raise ImportError
        # while loading, and that error is more telling than "missing".
        try:
            getattr(module, name)
        except AttributeError:
            missing.append(name)
    if missing:
        names = "name" if len(missing) == 1 else "names"
        raise ImportError(f"cannot import {names} {', '.join(missing)} from {package!r}")
    return module


def package_version(module: ModuleType) -> Optional[str]:
    """Version of an imported implementation package, or None when it declares none."""
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(module.__name__)
    except importlib.metadata.PackageNotFoundError:
        return None
