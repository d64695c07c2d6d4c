"""Disk usage of a folder (what ``du -s`` says), and sizes written for people."""

from __future__ import annotations

import os
from pathlib import Path

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def directory_size(path: Path) -> int:
    """Bytes used by the files under ``path``; symbolic links are not followed, unreadable entries count 0."""
    total = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue  # removed while we walk (a job cleaning up): it no longer uses space
    return total


def format_size(size: int) -> str:
    """``1536`` -> ``"1.5 KiB"``; bytes below 1 KiB stay whole (``"512 B"``)."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable: the loop returns at the last unit")
