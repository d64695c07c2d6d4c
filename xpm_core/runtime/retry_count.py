"""A resumable job's retry count, kept with the job (``JOBDIR/.experimaestro/status.json``, ``retry_count``).

It is the number of times a driver restarted the job after a timeout; kept on disk so that a
restarted driver knows the retries left (experimaestro keeps it in the same file, which
``xpm_core.workspace.disk.read_job`` reads). Written through the job's connector (the job
folder may be on an SSH host); other keys of the file are kept as they are.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from xpm_core.plugin.connector import Connector

logger = logging.getLogger("xpm.scheduler")

STATUS_FILE = Path(".experimaestro") / "status.json"


def _status(connector: Connector, job_dir: Path) -> dict[str, Any]:
    try:
        content = json.loads(connector.read_text(str(job_dir / STATUS_FILE)))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # unreadable: start afresh rather than fail the job
        logger.warning("ignoring unreadable %s: %s", job_dir / STATUS_FILE, exc)
        return {}
    return content if isinstance(content, dict) else {}


def read_retry_count(connector: Connector, job_dir: Path) -> int:
    """The retry count recorded in the job folder (0 when none is)."""
    count = _status(connector, job_dir).get("retry_count")
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


def write_retry_count(connector: Connector, job_dir: Path, count: int) -> None:
    """Record ``count`` in the job folder, keeping the file's other keys."""
    status = _status(connector, job_dir)
    status["retry_count"] = count
    connector.mkdir(str(job_dir / STATUS_FILE.parent))
    connector.write_text(str(job_dir / STATUS_FILE), json.dumps(status))
