"""The repository's own rules: every plugin is installed by the dev install and is complete."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PLUGINS = sorted(path.parent for path in (ROOT / "plugins").glob("*/pyproject.toml"))


def test_dev_install_lists_the_core_and_every_plugin():
    lines = [line.strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()]
    editable = {line[3:].strip() for line in lines if line.startswith("-e ")}
    assert ".[testing]" in editable
    for plugin in PLUGINS:
        assert f"./plugins/{plugin.name}" in editable, f"requirements-dev.txt lacks -e ./plugins/{plugin.name}"


def test_every_plugin_is_a_complete_distribution():
    for plugin in PLUGINS:
        pyproject = (plugin / "pyproject.toml").read_text()
        assert re.search(r'name = "xpm-[a-z0-9-]+"', pyproject), plugin
        assert re.search(r'"xpm-core>=[\d.]+,<[\d.]+"', pyproject), f"{plugin.name} must pin an xpm-core band"
        assert "[project.entry-points.xpm]" in pyproject, plugin
        assert (plugin / "README.md").is_file() and (plugin / "tests").is_dir(), plugin


def test_every_module_starts_with_a_docstring():
    import ast

    for path in sorted((ROOT / "xpm_core").rglob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} has no module docstring"
