"""Exceptions of the runtime that users raise or catch in their tasks and plans."""

from __future__ import annotations


class GracefulTimeout(Exception):
    """Raised by a resumable task that stops before its time limit; the job is restarted later."""


class TaskCancelled(BaseException):
    """Raised inside a job when it is asked to stop (SIGTERM, SIGINT, ``xpm jobs kill``).

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in user code does not
    swallow it.
    """

