"""The examples run end to end as the README says, and a second run runs nothing again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_grid_search_example(tmp_path):
    command = [sys.executable, str(EXAMPLES / "grid_search.py"), str(tmp_path / "ws")]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    rows = [line.split() for line in first.stdout.splitlines() if line.strip().startswith("0.")]
    assert sorted((lr, size) for lr, size, _ in rows) == [
        ("0.01", "256"), ("0.01", "64"), ("0.1", "256"), ("0.1", "64")
    ]
    assert f"workspace: {tmp_path / 'ws'}" in first.stdout
    log = next(line.split(": ", 1)[1] for line in first.stdout.splitlines() if line.startswith("a job log"))
    assert Path(log).is_file()

    outputs = sorted((tmp_path / "ws" / "jobs").glob("*/*/*.out"))
    stamps = [path.stat().st_mtime_ns for path in outputs]
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert [path.stat().st_mtime_ns for path in outputs] == stamps  # nothing ran again
    assert len(list((tmp_path / "ws" / "experiments" / "grid-search").glob("2*"))) == 2
