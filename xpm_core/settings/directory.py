"""Where the user's xpm configuration lives: ``$XPM_CONFIG_DIR``, else ``~/.config/xpm``."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable overriding the configuration directory.
CONFIG_DIR_ENV = "XPM_CONFIG_DIR"


def config_dir() -> Path:
    """The configuration directory (settings.yaml, launchers.py)."""
    configured = os.environ.get(CONFIG_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "xpm"
