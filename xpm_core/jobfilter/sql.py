"""Turning a filter expression into an SQL condition over the workspace index (``WorkspaceIndex.jobs_where``).

The condition reads ``j`` (a row of the jobs table) and, for tags, the ``job_tags`` rows of the
run that describes the job (``j.run``). Values are parameters, never spliced into the SQL.

A tag test has two equivalent forms. ``(j.id, j.run) IN (SELECT ...)`` reads the matching tag
rows once, through the (key, text) or (key, number) index: twice as fast as the correlated
``EXISTS (...)`` on 100,000 jobs. Under a ``NOT``, though, it would be NULL for a job no run
lists (``j.run`` NULL) and SQLite re-runs the sub-query for every row, so negated tests use
``EXISTS``.

The index re-reads the markers of unfinished jobs, and ``unfinished_sql`` says which of them
are worth it: a condition that holds for every unfinished job the filter might select once its
markers are read (markers can only make it done or error). On a queue of thousands of waiting
jobs, ``model = "bm25" and @state = "DONE"`` then re-reads the bm25 ones only.
"""

from __future__ import annotations

import re
from typing import Any, Optional

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

_COLUMNS = {STATE: "j.state", NAME: "j.task_id"}
#: What markers can turn an unfinished job into.
_OUTCOMES = ("done", "error")
# Bounds: None (exact), "upper" (true whenever the exact condition might become true once the
# markers are read), "lower" (true only if it stays true whatever they say).
_FLIPPED = {None: None, "upper": "lower", "lower": "upper"}
_TAG_ROW = "EXISTS (SELECT 1 FROM job_tags t WHERE t.job = j.id AND t.run = j.run AND t.key = ? AND {test})"


def to_sql(expression: Expression) -> tuple[str, list[Any]]:
    """The SQL condition and its parameters: ``("j.state IN (?)", ["done"])``."""
    params: list[Any] = []
    return _condition(expression, params, negated=False, bound=None), params


def unfinished_sql(expression: Expression) -> tuple[str, list[Any]]:
    """A condition true for every unfinished job that might pass the filter once its markers are
    read: ``model = "bm25" and @state = "DONE"`` gives ``model = "bm25"``."""
    params: list[Any] = []
    return _condition(expression, params, negated=False, bound="upper"), params


def _condition(expression: Expression, params: list[Any], negated: bool, bound: Optional[str]) -> str:
    """``negated``: whether an odd number of NOTs encloses ``expression`` (see the module's doc);
    ``bound``: see _FLIPPED."""
    if isinstance(expression, Or):
        return "(" + " OR ".join(_condition(operand, params, negated, bound) for operand in expression.operands) + ")"
    if isinstance(expression, And):
        return "(" + " AND ".join(_condition(operand, params, negated, bound) for operand in expression.operands) + ")"
    if isinstance(expression, Not):
        # Never NULL inside a NOT (EXISTS, NOT NULL columns), so NOT is the plain negation.
        return f"NOT {_condition(expression.operand, params, not negated, _FLIPPED[bound])}"
    if bound is not None and expression.variable.key == STATE:
        outcomes = [_state_holds(expression, state) for state in _OUTCOMES]
        if bound == "upper" and any(outcomes):
            return "1"  # the markers may make it true
        if bound == "lower" and not all(outcomes):
            return "0"  # the markers may make it false
    if isinstance(expression, Equals):
        return _equals(expression, params, negated)
    if isinstance(expression, Matches):
        pattern = expression.pattern
        if expression.variable.key == STATE:
            pattern = "(?i)" + pattern  # state names are case-insensitive
        return _on(expression.variable, "{} REGEXP ?", ["t.text REGEXP ?"], [[pattern]], params, negated)
    if isinstance(expression, Compare):
        test = f"t.number {expression.operator} ?"
        return _on(expression.variable, "", [test], [[expression.number]], params, negated)
    raise TypeError(f"not a filter expression: {expression!r}")


def _state_holds(expression: Expression, state: str) -> bool:
    """Whether a comparison of @state holds for a job in ``state``."""
    if isinstance(expression, Equals):
        return any(literal.text == state for literal in expression.values)
    if isinstance(expression, Matches):
        return re.search(expression.pattern, state, re.IGNORECASE) is not None
    raise TypeError(f"not a comparison of @state: {expression!r}")


def _equals(expression: Equals, params: list[Any], negated: bool) -> str:
    texts = [literal.text for literal in expression.values]
    if not expression.variable.is_tag:
        return _on(expression.variable, f"{{}} IN ({_marks(texts)})", [], [texts], params, negated)
    numbers = [literal.number for literal in expression.values if literal.number is not None]
    tests, values = [f"t.text IN ({_marks(texts)})"], [texts]
    if numbers:
        tests.append(f"t.number IN ({_marks(numbers)})")
        values.append(numbers)
    return _on(expression.variable, "", tests, values, params, negated)


def _marks(values: list[Any]) -> str:
    return ", ".join("?" * len(values))


def _on(variable: Variable, column_test: str, tag_tests: list[str], values: list[list[Any]], params: list[Any],
        negated: bool) -> str:
    """``column_test`` on @state / @name (``{}`` is the column); on a tag, a row passing any of
    ``tag_tests`` (each with its ``values``)."""
    if not variable.is_tag:
        params.extend(values[0])
        return column_test.format(_COLUMNS[variable.key])
    if negated:
        params.append(variable.key)
        for tag_values in values:
            params.extend(tag_values)
        test = tag_tests[0] if len(tag_tests) == 1 else "(" + " OR ".join(tag_tests) + ")"
        return _TAG_ROW.format(test=test)
    # One sub-query per test, so that each reads its own index ((key, text) or (key, number)).
    selects = []
    for test, tag_values in zip(tag_tests, values):
        params.append(variable.key)
        params.extend(tag_values)
        selects.append(f"SELECT t.job, t.run FROM job_tags t WHERE t.key = ? AND {test}")
    return f"(j.id, j.run) IN ({' UNION ALL '.join(selects)})"
