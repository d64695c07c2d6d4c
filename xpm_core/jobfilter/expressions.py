"""What a parsed filter is: comparisons of a job's state, task id or tags, joined by and/or/not.

The forms users write reduce to three comparisons: ``=`` and ``in`` are ``Equals`` (one of the
values), ``!=`` and ``not in`` are ``Not(Equals)``, ``~`` is ``Matches``, and ``<``, ``<=``,
``>``, ``>=`` are ``Compare``. Both back ends (SQL, Python) thus share one meaning of each form.
"""

from __future__ import annotations

from typing import Optional, Union

import attrs

#: What a comparison reads from a job.
STATE = "@state"  # the job's state; values are lower-case state names
NAME = "@name"  # the task id, e.g. mypkg.tasks.Learn


@attrs.frozen
class Variable:
    """``@state``, ``@name``, or a tag (``key``: its name)."""

    key: str

    @property
    def is_tag(self) -> bool:
        return self.key not in (STATE, NAME)


@attrs.frozen
class Literal:
    """A value of the filter, in the two forms a tag is compared in.

    ``text`` is compared with a tag's string form (a string as is, anything else as JSON),
    ``number`` with a numeric tag; ``"0.01"`` and ``0.01`` both have text "0.01" and number 0.01.
    """

    text: str
    number: Optional[float]


@attrs.frozen
class Equals:
    """The variable equals one of ``values`` (``=`` has one value, ``in`` a list)."""

    variable: Variable
    values: tuple[Literal, ...]


@attrs.frozen
class Matches:
    """The variable's string form contains a match of the regular expression ``pattern``."""

    variable: Variable
    pattern: str


@attrs.frozen
class Compare:
    """The variable (a numeric tag) compares with ``number`` by ``operator`` (``<``, ``<=``, ``>``, ``>=``)."""

    variable: Variable
    operator: str
    number: float


@attrs.frozen
class Not:
    operand: Expression


@attrs.frozen
class And:
    operands: tuple[Expression, ...]


@attrs.frozen
class Or:
    operands: tuple[Expression, ...]


Expression = Union[Equals, Matches, Compare, Not, And, Or]
