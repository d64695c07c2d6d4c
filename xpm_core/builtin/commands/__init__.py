"""Built-in plugin: the core's ``xpm`` sub-commands (implemented in :mod:`xpm_core.cli`)."""
