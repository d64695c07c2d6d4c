"""Evaluating a filter expression on one job record, with the same meaning as its SQL form.

The index evaluates filters in SQL; this is for the jobs whose state it re-reads from their
marker files, and for callers holding records rather than an index.
"""

from __future__ import annotations

import functools
import operator
import re
from typing import Any, Callable, Optional

from xpm_core.jobfilter.expressions import (
    NAME,
    STATE,
    And,
    Compare,
    Equals,
    Expression,
    Matches,
    Not,
    Or,
    Variable,
)
from xpm_core.workspace.index.tags import tag_columns
from xpm_core.workspace.records import JobRecord

_ORDERINGS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def matches(expression: Expression, job: JobRecord) -> bool:
    """Whether ``job`` passes the filter (its tags: those of the run describing it)."""
    if isinstance(expression, Or):
        return any(matches(operand, job) for operand in expression.operands)
    if isinstance(expression, And):
        return all(matches(operand, job) for operand in expression.operands)
    if isinstance(expression, Not):
        return not matches(expression.operand, job)
    if isinstance(expression, Equals):
        text, number = _read(expression.variable, job)
        if text is None:
            return False
        return any(
            text == literal.text or (number is not None and number == literal.number)
            for literal in expression.values
        )
    if isinstance(expression, Matches):
        text, _ = _read(expression.variable, job)
        flags = re.IGNORECASE if expression.variable.key == STATE else 0
        return text is not None and _compiled(expression.pattern, flags).search(text) is not None
    if isinstance(expression, Compare):
        _, number = _read(expression.variable, job)
        return number is not None and _ORDERINGS[expression.operator](number, expression.number)
    raise TypeError(f"not a filter expression: {expression!r}")


def _read(variable: Variable, job: JobRecord) -> tuple[Optional[str], Optional[float]]:
    """The variable's (text, number) for ``job``, as the index stores them; (None, None) if absent."""
    if variable.key == STATE:
        return job.state.value, None
    if variable.key == NAME:
        return job.task_id, None
    value: Any = job.tags.get(variable.key, _MISSING)
    if value is _MISSING:
        return None, None
    _, text, number = tag_columns(value)
    return text, number


_MISSING = object()


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)
