"""User settings: ``settings.yaml``, the configuration directory, and launcher options from them.

Imported lazily: reading settings costs YAML and cattrs, which job processes must not pay.
"""

from __future__ import annotations

from xpm_core.lazy_exports import lazy_getattr

_LAZY_EXPORTS: dict[str, str] = {
    "Settings": "xpm_core.settings.settings_file",
    "WorkspaceSettings": "xpm_core.settings.settings_file",
    "HistorySettings": "xpm_core.settings.settings_file",
    "ServerSettings": "xpm_core.settings.settings_file",
    "SettingsError": "xpm_core.settings.errors",
    "UnknownWorkspaceError": "xpm_core.settings.settings_file",
    "load_settings": "xpm_core.settings.settings_file",
    "settings_of_workspace": "xpm_core.settings.settings_file",
    "parse_settings": "xpm_core.settings.settings_file",
    "settings_path": "xpm_core.settings.settings_file",
    "SETTINGS_FILE": "xpm_core.settings.settings_file",
    "config_dir": "xpm_core.settings.directory",
    "CONFIG_DIR_ENV": "xpm_core.settings.directory",
    "configured_launcher": "xpm_core.settings.launchers",
    "launcher_options": "xpm_core.settings.launchers",
    "LauncherSettingsError": "xpm_core.settings.launchers",
}

__all__ = list(_LAZY_EXPORTS)

__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
