"""The conformance kit: contract test classes every plugin subclasses, plus pytest fixtures.

Contracts import pytest, so this package exposes them lazily: installing xpm-core does not make
pytest a run-time dependency (it is the ``testing`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.lazy_exports import lazy_getattr

_LAZY_EXPORTS = {
    "PluginPackageContract": "xpm_core.testing.contracts",
    "ConnectorContract": "xpm_core.testing.connector_contract",
    "LauncherContract": "xpm_core.testing.launcher_contract",
    "MonitorContract": "xpm_core.testing.monitor_contract",
    "SerializerContract": "xpm_core.testing.serializer_contract",
    "Contract": "xpm_core.testing.contract_base",
    "write_distribution": "xpm_core.testing.distributions",
    "served_workspace": "xpm_core.testing.services",
    "free_port": "xpm_core.testing.services",
    "url_answers": "xpm_core.testing.services",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from xpm_core.testing.connector_contract import ConnectorContract
    from xpm_core.testing.contract_base import Contract
    from xpm_core.testing.contracts import PluginPackageContract
    from xpm_core.testing.distributions import write_distribution
    from xpm_core.testing.launcher_contract import LauncherContract
    from xpm_core.testing.monitor_contract import MonitorContract
    from xpm_core.testing.serializer_contract import SerializerContract
    from xpm_core.testing.services import free_port, served_workspace, url_answers


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
