"""The recorded services this process holds (the plan's own while it runs, those a monitor
started), shared by every ``WorkspaceAPI`` of the process: a web server answers each request
with its thread's API, and any of them may start or stop what the process holds (a web monitor
inside the driver, ``run-experiment --port``, starts the plan's TensorBoard on demand)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from xpm_core.services.service import Service

_lock = threading.Lock()
_hosted: dict[tuple[str, str], Service] = {}


def _key(run_dir: Path, service_id: str) -> tuple[str, str]:
    return str(Path(run_dir).absolute()), service_id


def hosted(run_dir: Path, service_id: str) -> Optional[Service]:
    """The service ``service_id`` of ``run_dir`` if this process runs it."""
    with _lock:
        return _hosted.get(_key(run_dir, service_id))


def host(run_dir: Path, service_id: str, service: Service) -> None:
    with _lock:
        _hosted[_key(run_dir, service_id)] = service


def forget(service: Service) -> None:
    """Forget ``service`` wherever it is hosted (its run ended)."""
    with _lock:
        for key in [key for key, hosted_service in _hosted.items() if hosted_service is service]:
            del _hosted[key]
