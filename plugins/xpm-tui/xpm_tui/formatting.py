"""How the TUI writes states, times, durations, tags and counts in its cells."""

from __future__ import annotations

import time
from typing import Any, Mapping

from rich.text import Text

#: Display order and colour of job states (JobState values).
STATE_STYLES = {
    "unscheduled": "dim",
    "waiting": "yellow",
    "ready": "cyan",
    "scheduled": "cyan",
    "running": "bold blue",
    "done": "green",
    "error": "bold red",
}
#: Counts shown as columns of the experiments and runs tables.
COUNTED_STATES = ("done", "running", "waiting", "error")


def state_text(state: str | None) -> Text:
    value = (state or "?").lower()
    return Text(value.upper(), style=STATE_STYLES.get(value, ""))


def progress_text(levels: list[dict[str, Any]]) -> str:
    """A running job's reported progress, outermost level first: ``42% epochs › 7%`` ("" if none)."""
    return " › ".join(f"{int(level['value'] * 100)}%" + (f" {level['desc']}" if level.get("desc") else "")
                      for level in levels)


def job_state_text(state: str | None, progress: list[dict[str, Any]]) -> Text:
    """The state of a job in a table, with the outermost level of its progress: ``RUNNING 42%``."""
    text = state_text(state)
    if progress:
        text.append(f" {int(progress[0]['value'] * 100)}%", style="blue")
    return text


def status_text(status: str | None) -> Text:
    styles = {"running": "bold blue", "done": "green", "failed": "bold red", "detached": "yellow"}
    return Text(status or "?", style=styles.get(status or "", "dim"))


def timestamp(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def duration(started: float | None, ended: float | None, now: float | None = None) -> str:
    """``1h02m``, ``3m05s``, ``12.3s``; ``-`` before the start."""
    if started is None:
        return "-"
    seconds = max(0.0, (ended if ended is not None else (now or time.time())) - started)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def tag_value(value: Any) -> str:
    return "" if value is None else str(value)


def counts_text(counts: Mapping[str, int], total: int) -> str:
    """``12 jobs: 10 done, 1 running, 1 error`` (states without jobs left out)."""
    parts = [f"{counts[state]} {state}" for state in STATE_STYLES if counts.get(state)]
    return f"{total} jobs" + (f": {', '.join(parts)}" if parts else "")
