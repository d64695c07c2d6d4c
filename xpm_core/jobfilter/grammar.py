"""Reading a filter: the grammar (parsimonious) and the visitor that builds its expression.

Precedence: ``not`` binds tighter than ``and``, which binds tighter than ``or``; parentheses
group. A syntax error says at which column reading stopped and everything that could come there.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from parsimonious.exceptions import ParseError
from parsimonious.grammar import Grammar
from parsimonious.nodes import Node, NodeVisitor

from xpm_core.grammar_errors import after_previous_token, expected_message, readable_probes
from xpm_core.jobfilter.errors import FilterError
from xpm_core.jobfilter.expressions import (
    NAME,
    STATE,
    And,
    Compare,
    Equals,
    Expression,
    Literal,
    Matches,
    Not,
    Or,
    Variable,
)
from xpm_core.plugin.job_state import JobState

NUMBER_PATTERN = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"

# Every token swallows the whitespace after it (``_``), so that a rule that fails does so at the
# first character of the offending token: that is where the caret of an error goes.
GRAMMAR = Grammar(
    r"""
    filter      = _ disjunction end
    disjunction = conjunction (or conjunction)*
    conjunction = negation (and negation)*
    negation    = (not negation) / primary
    primary     = group / comparison
    group       = lparen disjunction rparen
    comparison  = variable (membership / ordering)
    membership  = (not_in / in) list
    ordering    = operator value
    list        = lbracket (value (comma value)*)? rbracket
    value       = string / number
    variable    = !keyword ~r"@?[^\W\d][\w.\-]*" _
    keyword     = ~r"(and|or|not|in)\b"i
    string      = ~r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"s _
    number      = ~r"NUMBER(?![A-Za-z0-9_.])" _
    operator    = ~r"!=|<=|>=|=|<|>|~" _
    not_in      = ~r"not\b"i _ ~r"in\b"i _
    in          = ~r"in\b"i _
    and         = ~r"and\b"i _
    or          = ~r"or\b"i _
    not         = ~r"not\b"i _
    lparen      = "(" _
    rparen      = ")" _
    lbracket    = "[" _
    rbracket    = "]" _
    comma       = "," _
    end         = ~r"\Z"
    _           = ~r"\s*"
    """.replace("NUMBER", NUMBER_PATTERN)
)

#: Everything that may come at some place of a filter: a description and a sample text of it.
#: parsimonious tells where reading stopped but names only one rule that failed there; a message
#: should list all that could come there. So _expected tries each sample at that place.
_PROBES: tuple[tuple[str, str], ...] = (
    ("a tag name, @state or @name", "tag"),
    ('"not"', "not"),
    ('"("', "("),
    ("an operator (=, !=, ~, <, <=, >, >=)", "="),
    ('"in"', "in"),
    ('"not in"', "not in"),
    ("a quoted string", '"x"'),
    ("a number", "1"),
    ('"["', "["),
    ('","', ","),
    ('"]"', "]"),
    ('")"', ")"),
    ('"and"', "and"),
    ('"or"', "or"),
    ("the end of the filter", ""),
)

_STATE_NAMES = ", ".join(state.name for state in JobState)
_NUMBER = re.compile(NUMBER_PATTERN)
_ESCAPE = re.compile(r"\\([\"'\\])")
#: The last token before an error: a quoted string, a word, or one character.
def parse_filter(text: str) -> Expression:
    """Read a filter such as ``model in ["bm25", "splade"] and not @state = "error"``.

    Raises :class:`FilterError` saying where and what was expected (or what is wrong: an
    unknown state, a regular expression that does not compile, ...).
    """
    if not text.strip():
        raise FilterError(text, len(text), 'the filter is empty; write e.g. @state = "DONE"')
    _check_size(text)
    try:
        tree = GRAMMAR.parse(text)
    except ParseError as error:  # parsimonious's error names a rule; ours says what to write
        raise FilterError(text, error.pos, _syntax_problem(text, error.pos)) from None
    return _Builder(text).visit(tree)


#: The longest filter read, in characters; the deepest nesting of parentheses and "not"s; the
#: most comparisons and list values. Beyond them the parser and SQLite run out of stack or
#: variables; a filter that big is a mistake (a pasted file, a generated loop gone wrong).
MAX_LENGTH = 10_000
MAX_NESTING = 32
MAX_COMPARISONS = 500
MAX_LIST_VALUES = 1_000
_TOKENS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[()\[\],]|[^\s()\[\],]+")
_COMPARISON_OPERATORS = {"=", "!=", "<", "<=", ">", ">=", "~", "in"}


def _check_size(text: str) -> None:
    """Refuse filters beyond the limits above, saying which limit and where it is passed."""
    if len(text) > MAX_LENGTH:
        raise FilterError(text, MAX_LENGTH, f"the filter is {len(text)} characters long, more than the "
                                            f"{MAX_LENGTH} allowed")
    depth, nots, comparisons, values, in_list = 0, 0, 0, 0, False
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        lowered = token.lower()
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif token == "[":
            in_list, values = True, 0
        elif token == "]":
            in_list = False
        elif in_list and token != ",":
            values += 1
            if values > MAX_LIST_VALUES:
                raise FilterError(text, match.start(), f"a list of more than {MAX_LIST_VALUES} values")
        if lowered == "not":
            nots += 1
        elif token != "(":
            nots = 0
        if depth + nots > MAX_NESTING:
            raise FilterError(text, match.start(), f"parentheses and 'not' nested more than {MAX_NESTING} deep")
        if lowered in _COMPARISON_OPERATORS or any(op in token for op in ("=", "<", ">", "~")):
            comparisons += 1
            if comparisons > MAX_COMPARISONS:
                raise FilterError(text, match.start(), f"more than {MAX_COMPARISONS} comparisons in one filter")


def _syntax_problem(text: str, position: int) -> str:
    """What is wrong where reading stopped: an unterminated string, or what was expected."""
    if position < len(text) and text[position] in "\"'":
        token = _TOKENS.match(text, position)
        quote = text[position]
        if token is None or len(token.group(0)) < 2 or not token.group(0).endswith(quote):
            return f"unterminated quoted string: add the closing {quote}"
    return _expected(text, position)


def _expected(text: str, position: int) -> str:
    """``expected X, Y or Z after "..."``: what can come at ``position`` where reading stopped."""
    expected = readable_probes(text, position, _PROBES, _goes_past)
    message = expected_message(expected, after_previous_token(text, position))
    word = re.match(r"[^\W\d]\w*", text[position:])
    if word and "a quoted string" in expected:
        message += f' (a word is a value only in quotes: "{word.group(0)}")'
    return message


def _goes_past(text: str, probe_start: int) -> bool:
    """Whether reading ``text`` (a prefix that failed, then a probe) gets past the whole probe."""
    try:
        _Builder(text).visit(GRAMMAR.parse(text))
    except ParseError as error:
        # Failing at the very end means the probe was read and more was wanted; the empty probe
        # (the end of the filter) must read through, though.
        return error.pos >= len(text) > probe_start
    except FilterError:
        # The whole text was read: a complaint about what it means (an unknown state in the
        # probe, a bad value before it) says nothing against the probe's place.
        pass
    return True


def _number(text: str) -> float | int:
    """An integer as written (``3``), anything else a float (``3.0``, ``1e3``): as JSON reads them,
    so that ``3`` has the text of a tag 3 and ``3.0`` that of a tag 3.0."""
    return int(text) if re.fullmatch(r"[-+]?[0-9]+", text) else float(text)


def _literal(value: str | int | float) -> Literal:
    """A value as text and number: a numeric string has both, as a number does (see Literal)."""
    if isinstance(value, str):
        number = float(value) if _NUMBER.fullmatch(value.strip()) else None
        return Literal(value, number)
    return Literal(json.dumps(value), float(value))


class _Value:
    """A value as written, with where it starts (for error messages)."""

    def __init__(self, value: str | int | float, position: int) -> None:
        self.value = value
        self.position = position


class _Builder(NodeVisitor):
    """Turns the parse tree of a filter into an expression, checking what the grammar cannot."""

    # Our errors carry their own position: parsimonious must not wrap them in a VisitationError.
    unwrapped_exceptions = (FilterError,)

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, position: int, reason: str) -> FilterError:
        return FilterError(self.text, position, reason)

    def generic_visit(self, node: Node, visited_children: list[Any]) -> Any:
        # Always a list: an absent optional part is then [] and a present one [value].
        return visited_children or node

    def visit_filter(self, node: Node, children: list[Any]) -> Expression:
        return children[1]

    def visit_disjunction(self, node: Node, children: list[Any]) -> Expression:
        first, others = children
        operands = [first, *(operand for _, operand in _items(others))]
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def visit_conjunction(self, node: Node, children: list[Any]) -> Expression:
        first, others = children
        operands = [first, *(operand for _, operand in _items(others))]
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def visit_negation(self, node: Node, children: list[Any]) -> Expression:
        (chosen,) = children
        if isinstance(chosen, list):  # not negation
            return Not(chosen[1])
        return chosen

    def visit_primary(self, node: Node, children: list[Any]) -> Expression:
        return children[0]

    def visit_group(self, node: Node, children: list[Any]) -> Expression:
        return children[1]

    def visit_comparison(self, node: Node, children: list[Any]) -> Expression:
        variable, (form,) = children
        kind, operator, values = form
        if kind == "membership":
            return self._equals(variable, values, negated=operator == "not in")
        (value,) = values
        if operator in ("=", "!="):
            return self._equals(variable, values, negated=operator == "!=")
        if operator == "~":
            return self._matches(variable, value)
        return self._compare(variable, operator, value)

    def visit_membership(self, node: Node, children: list[Any]) -> tuple:
        _, values = children
        negated = node.children[0].text.lower().startswith("not")
        return "membership", ("not in" if negated else "in"), values

    def visit_ordering(self, node: Node, children: list[Any]) -> tuple:
        operator, value = children
        return "ordering", operator, [value]

    def visit_operator(self, node: Node, children: list[Any]) -> str:
        return node.children[0].text

    def visit_list(self, node: Node, children: list[Any]) -> list[_Value]:
        _, content, _ = children
        values = []
        for first, others in _items(content):
            values.append(first)
            values.extend(value for _, value in _items(others))
        if not values:
            raise self.error(node.start, "an empty list matches nothing; give at least one value")
        return values

    def visit_value(self, node: Node, children: list[Any]) -> _Value:
        return children[0]

    def visit_string(self, node: Node, children: list[Any]) -> _Value:
        quoted = node.children[0].text
        # Only quotes and backslashes are escaped, so that "\d+" stays a regular expression.
        return _Value(_ESCAPE.sub(r"\1", quoted[1:-1]), node.start)

    def visit_number(self, node: Node, children: list[Any]) -> _Value:
        text = node.children[0].text
        value = _number(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node.start, f"the number {text} is too large (at most about 1.8e308)")
        return _Value(value, node.start)

    def visit_variable(self, node: Node, children: list[Any]) -> tuple[Variable, int]:
        name = node.children[1].text
        if name.startswith("@"):
            if name.lower() not in (STATE, NAME):
                raise self.error(node.start, f"unknown variable {name}: use @state, @name, or a tag name (without @)")
            name = name.lower()
        return Variable(name), node.start

    # -- the meaning of each comparison, checked -----------------------------------------------

    def _equals(self, located: tuple[Variable, int], values: list[_Value], negated: bool) -> Expression:
        variable, _ = located
        if variable.key == STATE:
            literals = tuple(Literal(self._state(value), None) for value in values)
        else:
            literals = tuple(_literal(value.value) for value in values)
        equals = Equals(variable, literals)
        return Not(equals) if negated else equals

    def _state(self, value: _Value) -> str:
        if not isinstance(value.value, str):
            raise self.error(value.position, f"a job state is a quoted name, one of {_STATE_NAMES}")
        try:
            return JobState.parse(value.value).value
        except ValueError:
            raise self.error(value.position, f"unknown job state {value.value!r}; expected one of {_STATE_NAMES}") from None

    def _matches(self, located: tuple[Variable, int], value: _Value) -> Expression:
        variable, _ = located
        if not isinstance(value.value, str):
            raise self.error(value.position, "'~' takes a regular expression in quotes, e.g. ~ \"^bm\"")
        try:
            re.compile(value.value)
        except re.error as error:
            raise self.error(value.position, f"invalid regular expression {value.value!r}: {error}") from None
        return Matches(variable, value.value)

    def _compare(self, located: tuple[Variable, int], operator: str, value: _Value) -> Expression:
        variable, position = located
        if not variable.is_tag:
            raise self.error(position, f"{variable.key} cannot be compared with {operator}: use =, !=, ~, in or not in")
        number = _literal(value.value).number
        if number is None:
            raise self.error(value.position, f"{operator} compares numbers, and {value.value!r} is not one")
        return Compare(variable, operator, number)


def _items(node_or_list: Any) -> list[Any]:
    """The repetitions of a ``(...)*`` or ``(...)?`` part: a list, or [] when it matched nothing."""
    return node_or_list if isinstance(node_or_list, list) else []
