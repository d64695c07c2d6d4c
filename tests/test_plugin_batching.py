"""The batch-system helpers of the plugin API: gathering concurrent calls, paced and retried submissions."""

from __future__ import annotations

import asyncio

import pytest

from xpm_core.plugin import CommandResult, Gatherer, SubmitError, SubmitLimitReached, SubmitPolicy, SubmitThrottle


def test_calls_within_the_window_are_processed_as_one_batch_per_key():
    batches: list[tuple[object, list[int]]] = []

    async def process(key, items):
        batches.append((key, list(items)))
        return [item * 10 if item != 3 else ValueError("three") for item in items]

    gatherer: Gatherer[int, int] = Gatherer(0.05, process)

    async def scenario():
        return await asyncio.gather(
            gatherer.add("a", 1), gatherer.add("a", 2), gatherer.add("b", 3), return_exceptions=True
        )

    results = asyncio.run(scenario())
    assert results[:2] == [10, 20] and isinstance(results[2], ValueError)
    assert sorted(batches, key=str) == [("a", [1, 2]), ("b", [3])]


class Answers(SubmitThrottle):
    """A command answering ``ID`` on success, ``busy`` (transient) or ``limit`` (a submit limit)."""

    command = "qsub"

    def is_transient(self, result: CommandResult) -> bool:
        return result.stderr in ("busy", "limit")

    def is_limit(self, result: CommandResult) -> bool:
        return result.stderr == "limit"


def answering(*answers: CommandResult):
    pending = list(answers)

    async def run() -> CommandResult:
        return pending.pop(0)

    return run


def test_transient_refusals_are_retried_and_others_fail_with_the_command_message():
    throttle = Answers(SubmitPolicy(backoff=0.01, interval=0))
    run = answering(CommandResult(1, "", "busy"), CommandResult(0, "42\n", ""))
    assert asyncio.run(throttle.submit("job x", run)) == "42"
    assert (throttle.retries, throttle.calls) == (1, 2)
    with pytest.raises(SubmitError, match="qsub refused job y: bad queue"):
        asyncio.run(throttle.submit("job y", answering(CommandResult(2, "", "bad queue"))))


def test_refusals_past_the_retry_time_fail_and_limits_can_split():
    throttle = Answers(SubmitPolicy(backoff=0.05, interval=0, retry_for=0.01))
    with pytest.raises(SubmitError, match="kept refusing"):
        asyncio.run(throttle.submit("job x", answering(CommandResult(1, "", "busy"))))
    with pytest.raises(SubmitLimitReached):
        asyncio.run(throttle.submit("array", answering(CommandResult(1, "", "limit")), split_on_limit=True))


def test_submissions_are_paced():
    throttle = Answers(SubmitPolicy(interval=0.05, concurrency=4))
    loop_times: list[float] = []

    async def run() -> CommandResult:
        loop_times.append(asyncio.get_running_loop().time())
        return CommandResult(0, "1", "")

    async def scenario():
        await asyncio.gather(*(throttle.submit(f"job {i}", run) for i in range(4)))

    asyncio.run(scenario())
    gaps = [later - earlier for earlier, later in zip(loop_times, loop_times[1:])]
    assert all(gap >= 0.045 for gap in gaps), gaps
