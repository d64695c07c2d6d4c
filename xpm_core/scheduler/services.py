"""experimaestro's ``experimaestro.scheduler.services`` (porting by changing imports): experiment services."""

from xpm_core.services.service import (
    ProcessWebService,
    Service,
    ServiceListener,
    ServiceState,
    WebService,
    resolve_service,
    wait_for_port,
)

__all__ = [
    "ProcessWebService",
    "Service",
    "ServiceListener",
    "ServiceState",
    "WebService",
    "resolve_service",
    "wait_for_port",
]
