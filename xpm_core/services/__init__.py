"""Services an experiment offers while (and after) it runs: TensorBoard, a dashboard, any web server.

:mod:`xpm_core.services.service` defines them (``Service``, ``WebService``, ``ProcessWebService``);
:mod:`xpm_core.services.records` writes them with a run and brings them back from disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.lazy_exports import lazy_getattr

_LAZY_EXPORTS = {
    name: "xpm_core.services.service"
    for name in (
        "Service",
        "ServiceListener",
        "ServiceState",
        "WebService",
        "ProcessWebService",
        "resolve_service",
        "wait_for_port",
    )
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from xpm_core.services.service import (
        ProcessWebService,
        Service,
        ServiceListener,
        ServiceState,
        WebService,
        resolve_service,
        wait_for_port,
    )

__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
