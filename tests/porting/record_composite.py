"""Record experimaestro 2.7.0's identifiers for composite_plan.py (run once; the JSON is kept in the tests).

Usage: ``python tests/porting/record_composite.py PYTHON_WITH_EXPERIMAESTRO_2_7_0`` (see
benchmarks/experimaestro_venv.py). The module and plan are copied with ``xpm_core`` replaced by
``experimaestro`` — the port in reverse — and run; their output goes to composite_2_7_0.json.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
FILES = ("composite_module.py", "composite_plan.py")


def unport(text: str) -> str:
    """The experimaestro version of a ported file: the imports changed back, nothing else."""
    return text.replace("xpm_core", "experimaestro")


def run(python: str, port_back: bool) -> str:
    """The JSON printed by the plan, run by ``python`` (with the imports changed back if asked)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in FILES:
            text = (HERE / name).read_text()
            (folder / name).write_text(unport(text) if port_back else text)
        result = subprocess.run(
            [python, "composite_plan.py", str(folder / "ws")],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"composite_plan.py failed:\n{result.stderr}")
        return result.stdout.split("=== identifiers\n", 1)[1]


if __name__ == "__main__":
    (HERE / "composite_2_7_0.json").write_text(run(sys.argv[1], port_back=True))
