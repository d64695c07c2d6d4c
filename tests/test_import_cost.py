"""``import xpm_core`` and ``xpm --help`` stay light: no plugin implementation, no fabric or flask."""

from __future__ import annotations

import json
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
