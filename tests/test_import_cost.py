"""``import xpm_core`` and ``xpm --help`` stay light: no plugin implementation, no fabric or flask."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys

FORBIDDEN = {"fabric", "flask", "paramiko", "kitchen_sink._impl"}

PROBE_HELP = """
import json, sys
from xpm_core.cli import main
sys.argv = ["xpm", "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(code: str, env: dict) -> set[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_import_xpm_core_imports_almost_nothing(kitchen_site):
    modules = imported_by("import json, sys, xpm_core; print(json.dumps(sorted(sys.modules)), file=sys.stderr)",
                          kitchen_site.env())
    assert not modules & FORBIDDEN
    # the plugin machinery and the CLI are loaded on first use only
    assert not {"pluggy", "click", "attrs", "importlib.metadata", "kitchen_sink"} & modules


def test_help_imports_no_plugin_implementation(kitchen_site):
    modules = imported_by(PROBE_HELP, kitchen_site.env())
    assert "kitchen_sink.plugin" in modules  # the entry module is read to list its commands...
    assert not modules & FORBIDDEN  # ...but not the modules its factories name


PROBE_EMPTY_RUN = """
import json, sys
from xpm_core import experiment
with experiment(sys.argv[1], "empty"):
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_a_run_without_tasks_starts_no_scheduler_yet_leaves_complete_records(plugin_site, tmp_path):
    workspace = tmp_path / "ws"
    env = {**plugin_site.env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for attempt in ("the entry points are read", "they come from the cache"):
        result = subprocess.run([sys.executable, "-c", PROBE_EMPTY_RUN, str(workspace)], capture_output=True,
                                text=True, env=env, check=True)
        modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
        # The scheduler, its asyncio loop and the objects.jsonl writer start with the first task.
        assert not {"asyncio", "xpm_core.runtime.scheduler", "xpm_core.serialization.objects"} & modules, attempt
    assert ("importlib.metadata" in modules) is False  # the second run found the plugins in the cache

    # What the exit waits for is all there: the run's records, and the index knows its end.
    runs = sorted(path for path in (workspace / "experiments" / "empty").iterdir() if path.name[0].isdigit())
    assert len(runs) == 2
    for run in runs:
        assert json.loads((run / "status.json").read_text())["status"] == "done"
        assert json.loads((run / "environment.json").read_text())["python"] == sys.executable
        assert (run / "objects.jsonl").exists() and (run / "jobs.jsonl").exists()
    # Read as the drivers left it (a command would first correct it from the files).
    with contextlib.closing(sqlite3.connect(workspace / ".xpm" / "index.db")) as index:
        recorded = index.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall()
    assert recorded == [(run.name, "done") for run in runs]
