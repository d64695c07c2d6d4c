"""``GracefulExperimentExit`` and ``FailedExperiment``: experimaestro's ways out of ``with experiment(...)``."""

from __future__ import annotations


class GracefulExperimentExit(Exception):
    """Raise it inside ``with experiment(...)`` to leave at once, without waiting for the jobs.

    The run is recorded ``detached``: jobs already started keep running (the next run of the
    experiment follows them), jobs not started yet are not started. The exception ends there:
    the script goes on after the ``with`` block, with no traceback (exit code 0 if nothing else fails).
    """


class FailedExperiment(RuntimeError):
    """experimaestro's "an experiment failed" exception, for code that catches it.

    xpm does not raise it when jobs fail: leaving ``with experiment(...)`` records the run as
    ``failed`` and logs each failed job with its log; ``xp.failed_jobs()`` lists them, and
    ``xpm run-experiment`` exits with code 1. A plan may raise it itself.
    """
