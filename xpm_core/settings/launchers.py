"""Building a launcher from its options in settings.yaml (``launchers: {direct: {max_running: 4}}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from xpm_core.settings.errors import SettingsError

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import Launcher


class LauncherSettingsError(SettingsError):
    """The options of a launcher in settings.yaml do not fit its settings class."""


def launcher_options(name: str, options: dict[str, Any], settings_class: type | None) -> dict[str, Any]:
    """``options`` checked against the launcher's attrs settings class; the keyword arguments to build it."""
    if settings_class is None:
        if options:
            raise LauncherSettingsError(f"launchers.{name}: this launcher takes no options, got {sorted(options)}")
        return {}
    fields = {field.name for field in attrs.fields(settings_class)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise LauncherSettingsError(
            f"launchers.{name}: unknown option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(fields))}"
        )
    try:
        checked = settings_class(**options)
    except (TypeError, ValueError) as error:
        raise LauncherSettingsError(f"launchers.{name}: {error}") from None
    return {key: value for key, value in attrs.asdict(checked).items() if key in options}


def configured_launcher(name: str = "direct") -> Launcher:
    """The launcher ``name`` built with its options from settings.yaml (none: its defaults)."""
    from xpm_core.plugin.registry import get_registry
    from xpm_core.settings.directory import config_dir

    launcher_type = get_registry().launchers()[name]
    options: dict[str, Any] = {}
    settings_file = config_dir() / "settings.yaml"
    if settings_file.exists():  # parsing YAML costs: only when there is a file
        from xpm_core.settings.settings_file import load_settings

        options = load_settings().launchers.get(name, {})
    try:
        checked = launcher_options(name, options, launcher_type.load_settings())
    except LauncherSettingsError as error:
        raise LauncherSettingsError(f"{settings_file}: {error}") from None
    return launcher_type.create(**checked)
