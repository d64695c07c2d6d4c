"""xpm core: the public API, imported lazily so that ``import xpm_core`` costs almost nothing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> module that defines it. Job processes import xpm_core once per job, so
# nothing is imported until a name is first used (PEP 562 module __getattr__).
_LAZY_EXPORTS: dict[str, str] = {
    # plugin system
    "hookimpl": "xpm_core.hookspecs",
    "ConnectorType": "xpm_core.components",
    "LauncherType": "xpm_core.components",
    "SerializerType": "xpm_core.components",
    "MonitorType": "xpm_core.components",
    "CommandType": "xpm_core.components",
    "PluginRegistry": "xpm_core.registry",
    "make_plugin_manager": "xpm_core.plugins",
    "get_registry": "xpm_core.plugins",
    "make_cli": "xpm_core.cli",
    "JobState": "xpm_core.job_state",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - static analysers see real imports
    from xpm_core.cli import make_cli
    from xpm_core.components import (
        CommandType,
        ConnectorType,
        LauncherType,
        MonitorType,
        SerializerType,
    )
    from xpm_core.hookspecs import hookimpl
    from xpm_core.job_state import JobState
    from xpm_core.plugins import get_registry, make_plugin_manager
    from xpm_core.registry import PluginRegistry


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
