"""Batch-system helpers every scheduler plugin shares: gathering concurrent calls, pacing submissions.

A scheduler calls ``submit`` and ``poll`` once per job, from one asyncio task per job; a batch
system wants one submission per array and one status query per round. :class:`Gatherer` turns
the calls made within a short window back into one batch. :class:`SubmitThrottle` paces
submission commands (bursts overload a batch server) and retries refusals that clear with time.
Plugins subclass :class:`SubmitThrottle` to say how their command answers (job id, transient
errors, submit limits).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Generic, Hashable, TypeVar, Union

import attrs

from xpm_core.plugin.connector import CommandResult

logger = logging.getLogger("xpm.batching")

Item = TypeVar("Item")
Result = TypeVar("Result")

#: What processing a batch gives for each item: its result, or the error to raise for it.
Outcome = Union[Result, BaseException]


class Gatherer(Generic[Item, Result]):
    """Collects the items added within ``window`` seconds under one key, and processes them at once.

    The first item of a batch waits ``window`` seconds for the others; ``process(key, items)``
    returns one outcome per item, in order (an exception it raises fails every item).
    """

    def __init__(
        self,
        window: float,
        process: Callable[[Hashable, list[Item]], Awaitable[list[Outcome[Result]]]],
    ) -> None:
        self.window = window
        self._process = process
        self._batches: dict[tuple[int, Hashable], list[tuple[Item, asyncio.Future[Result]]]] = {}
        # The event loop only keeps weak references to tasks: hold the flush tasks until done.
        self._tasks: set[asyncio.Task[None]] = set()

    async def add(self, key: Hashable, item: Item) -> Result:
        """Add ``item`` to the batch of ``key`` and wait for its own result."""
        loop = asyncio.get_running_loop()
        # Batches of different event loops never mix (a launcher may outlive a loop).
        batch_key = (id(loop), key)
        future: asyncio.Future[Result] = loop.create_future()
        batch = self._batches.get(batch_key)
        if batch is None:
            batch = self._batches[batch_key] = []
            task = loop.create_task(self._flush(batch_key, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        batch.append((item, future))
        return await future

    async def _flush(self, batch_key: tuple[int, Hashable], key: Hashable) -> None:
        await asyncio.sleep(self.window)
        batch = self._batches.pop(batch_key)
        items = [item for item, _ in batch]
        try:
            outcomes = await self._process(key, items)
        except Exception as error:  # handed to every waiting caller, which raises it
            outcomes = [error] * len(items)
        for (_, future), outcome in zip(batch, outcomes):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


class SubmitError(RuntimeError):
    """The batch system refused a submission for good (or kept refusing it past the retry time)."""


class SubmitLimitReached(Exception):
    """A submission was refused for a submit limit, and the caller asked to split it rather than wait."""


@attrs.frozen(kw_only=True)
class SubmitPolicy:
    """How fast jobs are submitted, and how long a refused submission is retried."""

    #: Submission commands running at once.
    concurrency: int = 2
    #: Seconds between the starts of two submission commands (bursts overload the server).
    interval: float = 0.1
    #: Seconds during which a transiently refused submission is retried before failing.
    retry_for: float = 3600.0
    #: First wait after a refusal; doubled at each refusal, up to ``backoff_max``.
    backoff: float = 2.0
    backoff_max: float = 120.0

    @classmethod
    def from_settings(cls, settings: Any) -> SubmitPolicy:
        """The policy a launcher's settings give through their ``submit_concurrency``,
        ``submit_interval``, ``submit_retry_for``, ``submit_backoff`` and ``submit_backoff_max``."""
        return cls(
            concurrency=settings.submit_concurrency,
            interval=settings.submit_interval,
            retry_for=settings.submit_retry_for,
            backoff=settings.submit_backoff,
            backoff_max=settings.submit_backoff_max,
        )


def describe_result(result: CommandResult) -> str:
    """A command's own error lines, joined on one line for messages."""
    text = (result.stderr or result.stdout).strip()
    return " / ".join(line.strip() for line in text.splitlines() if line.strip()) or "no output"


class SubmitThrottle:
    """Paces submission commands and retries transient refusals, without blocking the event loop.

    Shared by every launcher copy (``launcher.config(...)``) of one cluster, so a limit seen by one
    submission holds back the others too. Subclasses say how the command answers:
    :meth:`parse_id`, :meth:`is_transient`, :meth:`is_limit`, and the error class raised.
    """

    #: The command's name, in messages ("sbatch", "oarsub").
    command: str = "submission"
    #: The exception raised for a definitive refusal.
    error: type[Exception] = SubmitError

    def __init__(self, policy: SubmitPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._pace: asyncio.Lock | None = None
        self._next_start = 0.0
        #: No command starts before this time (set by a refusal, for every waiting submission).
        self._hold_until = 0.0
        #: Refusals seen since the last accepted submission (drives the back-off).
        self._refusals = 0
        #: How many submissions were refused and retried (for tests and reports).
        self.retries = 0
        #: How many submission commands were started.
        self.calls = 0

    def parse_id(self, result: CommandResult) -> str:
        """The job id in an accepted submission's output."""
        return result.stdout.strip()

    def is_transient(self, result: CommandResult) -> bool:
        """Whether a refusal may clear with time (a submit limit, an overloaded server)."""
        return False

    def is_limit(self, result: CommandResult) -> bool:
        """Whether a refusal is a submit limit (an array larger than the limit never passes)."""
        return False

    def explain(self, result: CommandResult) -> str:
        """The refusal's reason, on one line, as the batch system gave it."""
        return describe_result(result)

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
        """Run ``run`` (one submission command) when allowed, retrying transient refusals; the job id.

        :param what: names the submission in messages ("job NAME in DIR").
        :param run: performs one command; a ``TimeoutError`` counts as a transient refusal.
        :param split_on_limit: raise :class:`SubmitLimitReached` at a submit-limit refusal
            instead of retrying (for arrays, which may exceed the limit by themselves).
        :raises SubmitError: (or ``self.error``) on a definitive refusal, or when refusals last
            beyond ``policy.retry_for`` seconds.
        """
        slots, pace = self._primitives()
        give_up = self._clock() + self.policy.retry_for
        while True:
            async with slots:
                await self._wait_turn(pace)
                self.calls += 1
                try:
                    result = await run()
                except TimeoutError:
                    result = CommandResult(124, "", f"{self.command} timed out")
            if result.returncode == 0:
                self._refusals = 0
                return self.parse_id(result)
            timed_out = result.returncode == 124 and "timed out" in result.stderr
            if not (timed_out or self.is_transient(result)):
                raise self.error(f"{self.command} refused {what}: {self.explain(result)}")
            if split_on_limit and self.is_limit(result):
                self.retries += 1
                raise SubmitLimitReached(self.explain(result))
            delay = min(self.policy.backoff * 2**self._refusals, self.policy.backoff_max)
            if self._clock() + delay > give_up:
                raise self.error(
                    f"{self.command} kept refusing {what} for {self.policy.retry_for:.0f} s "
                    f"(retry_for); last answer: {self.explain(result)}"
                )
            self._refusals += 1
            self.retries += 1
            self._hold_until = max(self._hold_until, self._clock() + delay)
            logger.warning("%s refused %s (%s); retrying in %.0f s", self.command, what, self.explain(result), delay)
