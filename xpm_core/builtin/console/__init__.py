"""Built-in plugin: the ``console`` monitor, a text view of an experiment's jobs."""
