"""What ``xp.add_service`` and the end of a run do with a run's services (kept out of the experiment)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from xpm_core.names import check_name
from xpm_core.services.records import StateRecorder, service_record, write_state
from xpm_core.services.service import Service

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger("xpm.services")


def register_service(xp: Any, service: Service, *, recorded: bool) -> Service:
    """Add ``service`` to ``xp.services``; a service of the same id is stopped and replaced.

    :param recorded: whether the run is written to disk (its logs and state go to the run).
    """
    if not isinstance(service, Service):
        raise TypeError(f"add_service() takes a Service, not {type(service).__name__}")
    service_id = getattr(service, "id", None)
    if not isinstance(service_id, str):
        raise ValueError(f"{type(service).__qualname__} has no id: set `id = \"name\"` on the class or in __init__")
    check_name(service_id, "service id")
    previous = xp.services.get(service_id)
    if previous is not None and previous is not service:
        logger.warning("experiment %s: a service %r was already added: it is stopped and replaced", xp.name,
                       service_id)
        previous.stop()
    xp.services[service_id] = service
    if recorded:
        from xpm_core.services import hosting

        service.set_experiment(xp)
        service.add_listener(StateRecorder())
        write_state(service)
        hosting.host(xp.run_dir, service_id, service)  # a monitor of this process may start it
    return service


def services_record(services: Mapping[str, Service]) -> dict[str, dict[str, Any]]:
    """The ``services`` of ``status.json``."""
    return {service_id: service_record(service) for service_id, service in services.items()}


def stop_services(services: Mapping[str, Service]) -> None:
    """Stop the services this process runs (at the end of a run); a failure is only logged."""
    from xpm_core.services import hosting

    for service in services.values():
        hosting.forget(service)
        for target in {id(sub): sub for sub in [service, *service.subservices()]}.values():
            try:
                target.stop()
            except Exception as error:
                logger.warning("could not stop service %s: %s", target.id, error)
