"""docs/cli.md is the commands' help as it is now: regenerate it when a command or an option changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI_MD = Path(__file__).parent.parent / "docs" / "cli.md"
REGENERATE = "XPM_LOAD_PLUGINS= python -m xpm_core.cli.docs > docs/cli.md"


def generated() -> str:
    """What the documented command prints (core commands only: XPM_LOAD_PLUGINS is empty)."""
    env = {**os.environ, "XPM_LOAD_PLUGINS": ""}
    result = subprocess.run([sys.executable, "-m", "xpm_core.cli.docs"], capture_output=True, text=True,
                            env=env, check=True)
    return result.stdout


def test_cli_reference_is_up_to_date():
    expected = generated()
    assert CLI_MD.read_text() == expected, f"docs/cli.md is out of date: run {REGENERATE}"


def test_cli_reference_covers_every_command():
    from xpm_core.cli import make_cli
    from xpm_core.plugin.manager import make_plugin_manager

    cli = make_cli(make_plugin_manager(load_entrypoints=False))
    text = generated()
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"## `xpm {name}`" in text, name
    assert "## `xpm experiments sync`" in text and "## `xpm refactor default-values`" in text
