"""The recorded services this process runs (started by a monitor or the CLI), shared by every
``WorkspaceAPI`` of the process: a web server answers each request with its thread's API, and
any of them may stop what another started."""

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


def release(run_dir: Path, service_id: str) -> Optional[Service]:
    """Forget (and return) the service; the caller stops it."""
    with _lock:
        return _hosted.pop(_key(run_dir, service_id), None)
