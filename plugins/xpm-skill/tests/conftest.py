"""Test set-up of xpm-skill: makes the tests' helper module (skilldoc) importable."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib, which does not put test folders on sys.path.
sys.path.insert(0, str(Path(__file__).parent))
