"""Syntax errors users can act on: what could come where a parsimonious grammar stopped reading.

parsimonious names the one rule that failed; these helpers instead try sample tokens
("probes") at the failing position and list every one the grammar would have read.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

# The last token before a position: a quoted string, a word, or one other character.
# A number is one token ("0.01", "1e-3"), so that a message echoes it whole.
_PREVIOUS_TOKEN = re.compile(
    r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|(?<![\w.])[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|\w+|\S)\s*\Z"
)


def readable_probes(
    text: str,
    position: int,
    probes: Sequence[tuple[str, str]],
    goes_past: Callable[[str, int], bool],
) -> list[str]:
    """Descriptions of the ``(description, sample)`` probes readable at ``position`` of ``text``.

    ``goes_past(candidate, probe_start)`` says whether the grammar reads past a sample put there.
    """
    before = text[:position]
    # The space keeps a sample from joining the text before it ("lr" then "1" is not "lr1").
    return [description for description, probe in probes if goes_past(before + " " + probe, position + 1)]


def after_previous_token(text: str, position: int) -> str:
    """`` after "token"`` naming what was read last before ``position`` (empty at the start)."""
    previous = _PREVIOUS_TOKEN.search(text[:position])
    if previous is None:
        return ""
    token = previous.group(1)
    return f" after {token}" if token[0] in "\"'" else f' after "{token}"'


def expected_message(expected: Sequence[str], after: str) -> str:
    """``expected A, B or C after "x"``, or ``unexpected text`` when no probe fits."""
    if not expected:  # the probes cover the grammar; this guards against forgetting one
        return f"unexpected text{after}"
    listed = expected[0] if len(expected) == 1 else f"{', '.join(expected[:-1])} or {expected[-1]}"
    return f"expected {listed}{after}"
