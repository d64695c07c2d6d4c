"""Errors of ``run-experiment`` set-ups: what the user wrote is wrong, or the plan cannot be loaded."""

from __future__ import annotations


class ExperimentSetupError(Exception):
    """The YAML files, the options or the plan module are not usable; the message says why and where.

    ``usage`` tells the command line which exit code fits: 2 for a mistake in what the user
    gave (a file, a key, an option), 1 for a failure while loading or running their code.
    """

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage
