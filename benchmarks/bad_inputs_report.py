"""Counts of how xpm refuses the malformed inputs of tests/bad_input_cases.py: clear, unclear, accepted, crashes.

Runs every case in-process (as tests/test_bad_inputs.py does) in a temporary folder, with an
empty configuration directory, and prints the counts by group and every case that is not
refused clearly. Run it against another tree of xpm with PYTHONPATH=that/tree to compare.

    python benchmarks/bad_inputs_report.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bad_input_cases import all_cases, judge, write_workspace  # noqa: E402

KINDS = ("clear", "unclear", "accepted", "crash")


def main() -> None:
    cases = all_cases()
    with tempfile.TemporaryDirectory(prefix="xpm-bad-inputs-") as folder:
        root = Path(folder)
        config_dir = root / "config"
        config_dir.mkdir()
        os.environ.update(XPM_CONFIG_DIR=str(config_dir), XPM_LOAD_PLUGINS="")
        os.environ.pop("XPM_DEBUG", None)
        workspace = write_workspace(root / "ws")
        counts: Counter[tuple[str, str]] = Counter()
        problems = []
        for number, case in enumerate(cases):
            group = case.id.split("-")[0]
            verdict = judge(case, root / f"case-{number}", workspace, config_dir)
            counts[group, verdict.kind] += 1
            if verdict.kind != "clear":
                problems.append(f"  {verdict.kind:8} {case.id}: {verdict.detail[:160]}")
    groups = sorted({group for group, _ in counts})
    print(f"{'group':10}" + "".join(f"{kind:>10}" for kind in KINDS))
    for group in groups:
        print(f"{group:10}" + "".join(f"{counts[group, kind]:>10}" for kind in KINDS))
    print(f"{'total':10}" + "".join(f"{sum(counts[g, kind] for g in groups):>10}" for kind in KINDS))
    if problems:
        print("not refused clearly:")
        print("\n".join(problems))


if __name__ == "__main__":
    main()
