"""The error a settings file that cannot be used raises (light: the CLI's entry point catches it)."""


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the file and every problem in it."""
