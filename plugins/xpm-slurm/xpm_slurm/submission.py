"""Submitting with sbatch: throttled bursts, retried refusals that clear with time (submit limits)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Awaitable, Callable

import attrs

from xpm_core.plugin import CommandResult

logger = logging.getLogger("xpm.slurm")

_JOB_ID = re.compile(r"^(\d+)(?:;\S*)?$")

#: sbatch errors saying a submit limit (jobs queued per user, account or QOS) is reached: they
#: clear when other jobs end. An array counts one job per task, so a larger array than the limit
#: never passes: it is split instead (see ``SubmitLimitReached``).
SUBMIT_LIMIT_ERRORS = re.compile(
    r"AssocMaxSubmitJobLimit|AssocGrpSubmitJobsLimit|QOSMaxSubmitJobPerUserLimit"
    r"|QOSMaxSubmitJobPerAccountLimit|QOSGrpSubmitJobsLimit|job submit limit",
    re.IGNORECASE,
)

#: sbatch errors that clear with time: a submit limit, or the controller is overloaded or
#: restarting. Anything else (unknown partition, invalid option ...) fails at once.
TRANSIENT_ERRORS = re.compile(
    "|".join(
        (
            SUBMIT_LIMIT_ERRORS.pattern,
            r"Socket timed out",
            r"Unable to contact slurm controller",
            r"Slurm temporarily unable to accept job",
            r"Resource temporarily unavailable",
            r"Zero Bytes were transmitted or received",
            r"Connection refused",
            r"Connection reset by peer",
        )
    ),
    re.IGNORECASE,
)


class SlurmSubmitError(RuntimeError):
    """sbatch refused a job for good (or kept refusing it past the retry time)."""


class SubmitLimitReached(Exception):
    """sbatch refused an array for a submit limit, and the caller asked to split it rather than wait."""


def parse_job_id(output: str) -> str:
    """The job id printed by ``sbatch --parsable`` (``1234`` or ``1234;cluster``)."""
    for line in output.splitlines():
        match = _JOB_ID.match(line.strip())
        if match:
            return match.group(1)
    raise SlurmSubmitError(f"sbatch printed no job id: {output.strip()!r}")


def is_transient(result: CommandResult) -> bool:
    """Whether a failed sbatch may succeed later (see ``TRANSIENT_ERRORS``)."""
    return bool(TRANSIENT_ERRORS.search(result.stderr) or TRANSIENT_ERRORS.search(result.stdout))


def describe(result: CommandResult) -> str:
    """sbatch's own error lines, for messages."""
    text = (result.stderr or result.stdout).strip()
    return " / ".join(line.strip() for line in text.splitlines() if line.strip()) or "no output"


@attrs.frozen(kw_only=True)
class SubmitPolicy:
    """How fast xpm submits, and how long it keeps retrying a refused submission."""

    #: sbatch commands running at once.
    concurrency: int = 2
    #: Seconds between the starts of two sbatch commands (bursts overload slurmctld).
    interval: float = 0.1
    #: Seconds during which a transiently refused submission is retried before failing.
    retry_for: float = 3600.0
    #: First wait after a refusal; doubled at each refusal, up to ``backoff_max``.
    backoff: float = 2.0
    backoff_max: float = 120.0


class SubmitThrottle:
    """Paces sbatch calls and retries transient refusals, without blocking the event loop.

    Shared by every launcher copy (``launcher.config(...)``) of one cluster, so a submit limit
    seen by one submission holds back the others too, instead of each hammering slurmctld.
    """

    def __init__(self, policy: SubmitPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._pace: asyncio.Lock | None = None
        self._next_start = 0.0
        #: No sbatch starts before this time (set by a refusal, for every waiting submission).
        self._hold_until = 0.0
        #: Refusals seen since the last accepted submission (drives the back-off).
        self._refusals = 0
        #: How many submissions were refused and retried (for tests and reports).
        self.retries = 0

    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        # asyncio primitives belong to one event loop; a launcher may outlive a loop (one
        # asyncio.run per test, a tool re-attaching), so they are rebuilt for each new loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None or self._pace is None:
            self._loop = loop
            self._slots = asyncio.Semaphore(max(1, self.policy.concurrency))
            self._pace = asyncio.Lock()
        return self._slots, self._pace

    async def _wait_turn(self, pace: asyncio.Lock) -> None:
        async with pace:
            while True:
                delay = max(self._next_start, self._hold_until) - self._clock()
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            self._next_start = self._clock() + self.policy.interval

    async def submit(
        self, what: str, run: Callable[[], Awaitable[CommandResult]], *, split_on_limit: bool = False
    ) -> str:
        """Run ``run`` (an sbatch call) when allowed, retrying transient refusals; return the job id.

        :param what: names the submission in messages ("job NAME in DIR").
        :param run: performs one sbatch call; a ``TimeoutError`` counts as a transient refusal.
        :param split_on_limit: raise :class:`SubmitLimitReached` at a submit-limit refusal
            instead of retrying (for arrays, which may exceed the limit by themselves).
        :raises SlurmSubmitError: on a definitive refusal, or when refusals last beyond
            ``policy.retry_for`` seconds.
        """
        slots, pace = self._primitives()
        give_up = self._clock() + self.policy.retry_for
        while True:
            async with slots:
                await self._wait_turn(pace)
                try:
                    result = await run()
                except TimeoutError:
                    result = CommandResult(124, "", "sbatch timed out (Socket timed out on send/recv)")
            if result.returncode == 0:
                self._refusals = 0
                return parse_job_id(result.stdout)
            if not is_transient(result):
                raise SlurmSubmitError(f"sbatch refused {what}: {describe(result)}")
            if split_on_limit and SUBMIT_LIMIT_ERRORS.search(result.stderr + result.stdout):
                self.retries += 1
                raise SubmitLimitReached(describe(result))
            delay = min(self.policy.backoff * 2**self._refusals, self.policy.backoff_max)
            if self._clock() + delay > give_up:
                raise SlurmSubmitError(
                    f"sbatch kept refusing {what} for {self.policy.retry_for:.0f} s "
                    f"(retry_for); last answer: {describe(result)}"
                )
            self._refusals += 1
            self.retries += 1
            self._hold_until = max(self._hold_until, self._clock() + delay)
            logger.warning("sbatch refused %s (%s); retrying in %.0f s", what, describe(result), delay)
