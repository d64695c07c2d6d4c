"""A configuration module written for experimaestro 2.7.0 runs on xpm with its imports changed only,
and its plans get 2.7.0's identifiers (recorded with record_composite.py)."""

from __future__ import annotations

import json
import sys

from porting.record_composite import FILES, HERE, run, unport


def test_the_port_changes_import_lines_only():
    for name in FILES:
        ported = (HERE / name).read_text().splitlines()
        original = unport((HERE / name).read_text()).splitlines()
        changed = [new for new, old in zip(ported, original) if new != old]
        assert changed and all(line.startswith(("from xpm_core", "import xpm_core")) for line in changed), changed


def test_composite_plans_have_experimaestro_2_7_0_identifiers():
    expected = json.loads((HERE / "composite_2_7_0.json").read_text())
    actual = json.loads(run(sys.executable, port_back=False))
    assert len(expected) == 25
    assert actual == expected
