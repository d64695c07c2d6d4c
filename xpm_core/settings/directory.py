"""Where the user's xpm configuration lives: ``$XPM_CONFIG_DIR``, else ``~/.config/xpm``.

Without an xpm settings file, experimaestro's ``~/.config/experimaestro/settings.yaml`` is read
instead (a ported user keeps their workspaces); a one-line note on stderr says so, once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Environment variable overriding the configuration directory.
CONFIG_DIR_ENV = "XPM_CONFIG_DIR"
SETTINGS_FILE = "settings.yaml"

_noted: set[Path] = set()


def config_dir() -> Path:
    """The configuration directory (settings.yaml, launchers.py)."""
    configured = os.environ.get(CONFIG_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "xpm"


def experimaestro_settings_path() -> Path:
    """experimaestro's settings file, read when xpm has none."""
    return Path.home() / ".config" / "experimaestro" / SETTINGS_FILE


def settings_path() -> Path:
    """The settings file xpm reads: its own, else experimaestro's (when ``XPM_CONFIG_DIR`` is unset).

    An explicit ``XPM_CONFIG_DIR`` is the user's choice: no fallback then. The returned path may
    not exist (no settings: the defaults).
    """
    own = config_dir() / SETTINGS_FILE
    if os.environ.get(CONFIG_DIR_ENV) or own.exists():
        return own
    fallback = experimaestro_settings_path()
    if not fallback.is_file():
        return own
    if fallback not in _noted:
        _noted.add(fallback)
        print(f"xpm: note: no {own}; reading experimaestro's settings {fallback}", file=sys.stderr)
    return fallback
