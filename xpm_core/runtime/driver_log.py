"""The driver's log kept in the workspace: ``WS/.scheduler/logs/<xp-id>/<run-id>.log``, INFO and up.

What a driver said (jobs started, retried, failed; warnings) stays with the workspace, so that a
run started in a closed terminal or on a login node can be looked into afterwards
(``xpm experiments log EXP [RUN]``). Logs older than a retention (settings ``driver_log_days``,
default 15) are deleted when a driver starts, at most once a day.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator, Optional

LOGS_DIR = Path(".scheduler") / "logs"
DEFAULT_RETENTION_DAYS = 15
#: When logs were last cleaned; no cleaning more often than daily.
LAST_CLEANUP = ".last_cleanup"
CLEANUP_PERIOD_SECONDS = 24 * 3600
#: The loggers whose records the file takes (xpm's own and its modules').
LOGGER_NAMES = ("xpm", "xpm_core")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger("xpm.driver_log")


def logs_dir(workspace: Path) -> Path:
    return Path(workspace) / LOGS_DIR


def log_path(workspace: Path, experiment_id: str, run_id: str) -> Path:
    """Where the driver of a run writes its log."""
    return logs_dir(workspace) / experiment_id / f"{run_id}.log"


def retention_days(settings: Any) -> float:
    """The retention of settings.yaml (``driver_log_days``), else the default."""
    days = getattr(settings, "driver_log_days", None)
    return float(days) if isinstance(days, (int, float)) and not isinstance(days, bool) else DEFAULT_RETENTION_DAYS


def remove_old_logs(workspace: Path, days: float, *, now: Optional[float] = None) -> list[Path]:
    """Delete the driver logs not written for ``days`` days; at most once per day (``.last_cleanup``)."""
    root = logs_dir(workspace)
    now = time.time() if now is None else now
    stamp = root / LAST_CLEANUP
    try:
        if now - stamp.stat().st_mtime < CLEANUP_PERIOD_SECONDS:
            return []
    except FileNotFoundError:
        pass
    removed = []
    limit = now - days * 24 * 3600
    for path in sorted(root.glob("*/*.log")):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
    for folder in root.glob("*/"):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    with contextlib.suppress(OSError):
        root.mkdir(parents=True, exist_ok=True)
        stamp.touch()
        os.utime(stamp, (now, now))
    return removed


class _Forward(logging.Handler):
    """Passes records on to the root logger's handlers at the level they had before: writing INFO
    to the file must not make a console configured for warnings show INFO lines."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger().handle(record)


@contextlib.contextmanager
def driver_log(workspace: Path, experiment_id: str, run_id: str, settings: Any = None) -> Iterator[Optional[Path]]:
    """Write the ``xpm`` loggers' INFO records to the run's log file while the block runs.

    Yields the file (None when it cannot be created: a log never stops a run).
    """
    with contextlib.suppress(Exception):
        for path in remove_old_logs(workspace, retention_days(settings)):
            logger.debug("removed the old driver log %s", path)
    path = log_path(workspace, experiment_id, run_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        logger.warning("cannot write the driver log %s: %s", path, error)
        yield None
        return
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    restore: list[tuple[logging.Logger, int, bool, Optional[logging.Handler]]] = []
    for name in LOGGER_NAMES:
        target = logging.getLogger(name)
        threshold = target.getEffectiveLevel()
        if threshold > logging.INFO and target.propagate:
            forward: logging.Handler = _Forward(level=threshold)
            restore.append((target, target.level, target.propagate, forward))
            target.setLevel(logging.INFO)
            target.propagate = False
            target.addHandler(forward)
        else:
            restore.append((target, target.level, target.propagate, None))
        target.addHandler(handler)
    try:
        yield path
    finally:
        for target, level, propagate, forwarding in restore:
            target.removeHandler(handler)
            if forwarding is not None:
                target.removeHandler(forwarding)
                target.setLevel(level)
                target.propagate = propagate
        handler.close()


def latest_log(workspace: Path, experiment_id: str) -> Optional[Path]:
    """The log of the latest run of ``experiment_id`` that has one."""
    logs = list(logs_dir(workspace).joinpath(experiment_id).glob("*.log"))
    return max(logs, key=lambda path: path.stat().st_mtime) if logs else None
