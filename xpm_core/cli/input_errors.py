"""Refusals of what a user typed or wrote: one line, exit code 2, nothing written."""

from __future__ import annotations

import click


class InputError(click.ClickException):
    """Something given on the command line or in a file is wrong: exit code 2, one line."""

    exit_code = 2


def checked_name(name: str, what: str) -> str:
    """``name`` if it may become a path component (xpm_core.names), else an :class:`InputError`."""
    from xpm_core.names import InvalidNameError, check_name

    try:
        return check_name(name, what)
    except InvalidNameError as error:
        raise InputError(str(error)) from None
