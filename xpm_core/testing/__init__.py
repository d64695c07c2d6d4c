"""The conformance kit: contract test classes every plugin subclasses, plus pytest fixtures.

Contracts import pytest, so this package exposes them lazily: installing xpm-core does not make
pytest a run-time dependency (it is the ``testing`` extra).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY_EXPORTS = {
    "PluginPackageContract": "xpm_core.testing.contracts",
    "ConnectorContract": "xpm_core.testing.connector_contract",
    "LauncherContract": "xpm_core.testing.launcher_contract",
    "write_distribution": "xpm_core.testing.distributions",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from xpm_core.testing.connector_contract import ConnectorContract
    from xpm_core.testing.contracts import PluginPackageContract
    from xpm_core.testing.launcher_contract import LauncherContract
    from xpm_core.testing.distributions import write_distribution


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_core.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
