"""A run's services on disk: ``status.json`` says which ones (class and constructor arguments);
``<run>/services/<id>/`` holds each one's logs and its live ``state.json``, which any process reads.

The process that runs a service (the plan's driver, ``xpm experiments services start``, a
monitor) writes ``state.json`` on every change of state; a reader trusts a "running" state only
while the process that wrote it is alive, so a service whose host died shows as stopped.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpm_core.names import check_name
from xpm_core.services.service import ProcessWebService, Service, ServiceListener, ServiceState

if TYPE_CHECKING:
    from collections.abc import Mapping

#: The folder of a run that holds one folder per service.
SERVICES_DIR = "services"
STATE_FILE = "state.json"
#: States that hold only while the process that wrote them lives.
LIVE_STATES = ("STARTING", "RUNNING", "STOPPING")


class UnknownServiceError(LookupError):
    """A run has no service of that id (the message lists the ones it has)."""


def service_directory(run_dir: Path, service_id: str) -> Path:
    """``<run>/services/<id>`` (``<id>/<sub>`` for a sub-service); every part must be a valid name."""
    path = Path(run_dir) / SERVICES_DIR
    for part in service_id.split("/"):
        path = path / check_name(part, "service id")
    return path


def service_record(service: Service) -> dict[str, Any]:
    """The entry of ``status.json``'s ``services`` for ``service``; a class of a script (``__main__``)
    also records the script's path, so that it can be imported again."""
    record = service.full_state_dict()
    module = type(service).__module__
    if module == "__main__":
        filename = getattr(sys.modules.get(module), "__file__", None)
        if filename:
            record["file"] = str(Path(filename).absolute())
    return record


class StateRecorder(ServiceListener):
    """Writes the service's ``state.json`` on every change of state."""

    def service_state_changed(self, service: Service) -> None:
        write_state(service)


def write_state(service: Service) -> None:
    """Write ``state.json`` for ``service`` (nothing when it belongs to no run)."""
    if service.log_directory is None:
        return
    server_pid = service.pid if isinstance(service, ProcessWebService) else None
    content = {
        "service_id": service.id,
        "state": service.state.name,
        "url": service.url,
        "error": service.error,
        "hostname": socket.gethostname(),
        # What serves: the server process, or this one (a WebService's thread, a plain service).
        "pid": server_pid or os.getpid(),
        "host_pid": os.getpid(),
        "updated_at": time.time(),
    }
    service.log_directory.mkdir(parents=True, exist_ok=True)
    path = service.log_directory / STATE_FILE
    # One temporary file per thread: a state may change in two threads at once (stop, and the
    # watcher of the server process).
    temporary = path.with_name(f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(content, indent=2))
    os.replace(temporary, path)


def read_state(run_dir: Path, service_id: str) -> dict[str, Any]:
    """The recorded state of a service: ``state`` (a ServiceState name), ``url``, ``error``, ``pid``.

    A live state written by a process of this machine that has ended reads as STOPPED.
    """
    stopped: dict[str, Any] = {"state": ServiceState.STOPPED.name, "url": None, "error": None, "pid": None}
    try:
        content = json.loads((service_directory(run_dir, service_id) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return stopped
    if not isinstance(content, dict) or content.get("state") not in ServiceState.__members__:
        return stopped
    state = {key: content.get(key) for key in ("state", "url", "error", "pid")}
    if state["state"] not in LIVE_STATES:
        return {**state, "pid": None}
    if content.get("hostname") == socket.gethostname():
        from xpm_core.local_host import process_alive

        pid = content.get("pid")
        if not isinstance(pid, int) or not process_alive(pid, None):
            return stopped
    return state


def _status(run_dir: Path) -> dict[str, Any]:
    try:
        content = json.loads((Path(run_dir) / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def recorded_services(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``services`` of a run's ``status.json``: id -> record (class, state_dict, ...)."""
    services = _status(run_dir).get("services")
    return services if isinstance(services, dict) else {}


def service_rows(run_dir: Path) -> list[dict[str, Any]]:
    """One plain dict per service and sub-service (``parent/sub``) of a run, sorted by id:
    ``id``, ``description``, ``state``, ``url``, ``error``, ``class``, ``stdout``, ``stderr``."""
    rows = []
    for service_id, record in sorted(recorded_services(run_dir).items()):
        if not isinstance(record, dict):
            continue
        entries = [(service_id, record.get("description") or "")]
        for sub in record.get("subservices") or []:
            if isinstance(sub, dict) and sub.get("service_id"):
                entries.append((f"{service_id}/{sub['service_id']}", sub.get("description") or ""))
        for row_id, description in entries:
            directory = service_directory(run_dir, row_id)
            rows.append({
                "id": row_id,
                "description": description,
                **read_state(run_dir, row_id),
                "class": record.get("class"),
                "stdout": str(directory / "logs.out"),
                "stderr": str(directory / "logs.err"),
            })
    return rows


def recreate_service(run_dir: Path, service_id: str) -> Service:
    """The service ``ID`` (or sub-service ``ID/SUB``) of a run, created again from its record.

    Its logs and ``state.json`` are those of the run, so that every monitor sees it start.
    """
    records: Mapping[str, Any] = recorded_services(run_dir)
    parent_id, _, sub_id = service_id.partition("/")
    record = records.get(parent_id)
    if not isinstance(record, dict):
        known = ", ".join(sorted(records)) or "none"
        raise UnknownServiceError(f"run {Path(run_dir).name} has no service {parent_id!r} (services: {known})")
    service = _instantiate(record)
    if service.id != parent_id:  # its constructor gives another id: the record's wins
        service.id = parent_id
    service.log_directory = service_directory(run_dir, parent_id)
    target = service
    if sub_id:
        try:
            target = service.get_subservice(sub_id)
        except KeyError as error:
            raise UnknownServiceError(str(error.args[0])) from None
        target.log_directory = service_directory(run_dir, service_id)
    target.add_listener(StateRecorder())
    return target


def _instantiate(record: dict[str, Any]) -> Service:
    class_name = record.get("class")
    if not isinstance(class_name, str) or "." not in class_name:
        raise ValueError(f"the service record has no class (got {class_name!r})")
    module, _, qualname = class_name.rpartition(".")
    # Classes defined inside classes are not supported: module.Name is what full_state_dict wrote.
    from xpm_core.serialization.objects import _import_class

    definition = {"id": record.get("service_id"), "module": module, "type": qualname}
    if record.get("file"):
        definition["file"] = record["file"]
    try:
        cls = _import_class(definition)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import the service class {class_name}: {error}") from None
    state = record.get("state_dict") or {}
    try:
        service = Service.from_state_dict(cls, state)
    except TypeError as error:
        raise ValueError(f"cannot create {class_name} from its recorded arguments {sorted(state)}: {error}") from None
    if not isinstance(service, Service):
        raise ValueError(f"{class_name} is not a Service")
    return service
