"""A running job's progress on disk: ``JOBDIR/.experimaestro/progress.json``, written by the job, read by views.

The job process replaces the file atomically (at most about once a second, see
``xpm_core.runtime.task_progress``); readers (``xpm jobs list``, the workspace API, the monitors)
read it only for running jobs, and tolerate a missing or malformed file (no progress).
Standard library only: the job process and ``xpm jobs list`` import it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence

#: Where a job's progress lives, relative to its folder (next to experimaestro's status.json).
PROGRESS_FILE = Path(".experimaestro") / "progress.json"


def progress_path(job_dir: str | os.PathLike[str]) -> Path:
    return Path(job_dir) / PROGRESS_FILE


def write_progress(job_dir: Path, levels: Sequence[dict[str, Any]]) -> None:
    """Replace the job's progress file with ``levels`` (``[{level, value, desc}]``), atomically."""
    path = progress_path(job_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"levels": list(levels), "time": time.time()}))
    os.replace(temporary, path)  # a reader sees the old or the new file, never half of one


def remove_progress(job_dir: Path) -> None:
    """Forget an earlier attempt's progress (a restarted job starts from nothing)."""
    progress_path(job_dir).unlink(missing_ok=True)


def read_progress(job_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The levels ``[{level, value, desc}]`` the job last reported; ``[]`` without a readable file."""
    try:
        content = json.loads(progress_path(job_dir).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    levels = content.get("levels") if isinstance(content, dict) else None
    if not isinstance(levels, list):
        return []
    result: list[dict[str, Any]] = []
    for entry in levels:
        if not isinstance(entry, dict):
            continue
        value = entry.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        desc = entry.get("desc")
        result.append({
            "level": len(result),
            "value": min(max(float(value), 0.0), 1.0),
            "desc": desc if isinstance(desc, str) else None,
        })
    return result


def progress_label(levels: Sequence[dict[str, Any]]) -> Optional[str]:
    """How a one-line view shows progress: the outermost level in percent (``42%``), None without any."""
    if not levels:
        return None
    return f"{int(levels[0]['value'] * 100)}%"


def progress_text(levels: Sequence[dict[str, Any]]) -> str:
    """Every level, outermost first: ``42% epochs › 7% batches``."""
    parts = []
    for level in levels:
        percent = f"{int(level['value'] * 100)}%"
        parts.append(f"{percent} {level['desc']}" if level.get("desc") else percent)
    return " › ".join(parts)
