"""Gathering concurrent calls: jobs submitted one by one become arrays, status polls become one query."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, Hashable, TypeVar, Union

Item = TypeVar("Item")
Result = TypeVar("Result")

#: What processing a batch gives for each item: its result, or the error to raise for it.
Outcome = Union[Result, BaseException]


class Gatherer(Generic[Item, Result]):
    """Collects the items added within ``window`` seconds under one key, and processes them at once.

    The scheduler calls ``submit`` and ``poll`` once per job, from one asyncio task per job; this
    turns those calls back into one sbatch per array and one sacct per round. The first item of a
    batch waits ``window`` seconds for the others.
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
