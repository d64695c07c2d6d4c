"""The requirement spec language (``duration=4h & cuda(mem=16G) * 2 | cpu(cores=8)``) and its parser."""

from __future__ import annotations

from typing import Any, NamedTuple

from parsimonious.exceptions import ParseError
from parsimonious.grammar import Grammar
from parsimonious.nodes import Node, NodeVisitor

from xpm_core.grammar_errors import after_previous_token, expected_message, readable_probes
from xpm_core.launcherfinder.specs import (
    AcceleratorSpecification,
    CPUSpecification,
    CudaSpecification,
    HostSimpleRequirement,
    MPSSpecification,
    RequirementUnion,
)
from xpm_core.launcherfinder.units import (
    SIZE_UNIT_PATTERN,
    SIZE_UNITS_HELP,
    TIME_UNIT_PATTERN,
    TIME_UNITS_HELP,
    duration_in_seconds,
    size_in_bytes,
)

# Every token swallows the whitespace after it (``_``), so that a rule that fails does so at the
# first character of the offending token: that is where the caret of an error goes.
# Units are optional here so that a missing one gets its own message (see _Builder).
GRAMMAR = Grammar(
    r"""
    spec             = _ alternative (bar alternative)* end
    alternative      = item (amp item)*
    item             = duration / cpu / accelerator
    duration         = "duration" _ equals number time_unit?
    cpu              = "cpu" _ lparen cpu_args? rparen
    cpu_args         = cpu_arg (comma cpu_arg)*
    cpu_arg          = mem_arg / cores_arg
    accelerator      = accelerator_kind lparen accelerator_args? rparen repeat?
    accelerator_kind = ("cuda" / "mps" / "gpu") _
    accelerator_args = mem_arg (comma mem_arg)*
    mem_arg          = "mem" _ equals number size_unit?
    cores_arg        = "cores" _ equals number
    repeat           = star number
    number           = ~r"[0-9]+(\.[0-9]+)?" _
    size_unit        = ~r"SIZE_UNIT"i _
    time_unit        = ~r"TIME_UNIT"i _
    equals           = "=" _
    lparen           = "(" _
    rparen           = ")" _
    comma            = "," _
    star             = "*" _
    amp              = "&" _
    bar              = "|" _
    end              = ~r"\Z"
    _                = ~r"\s*"
    """.replace("SIZE_UNIT", SIZE_UNIT_PATTERN).replace("TIME_UNIT", TIME_UNIT_PATTERN)
)

_ACCELERATOR_CLASSES: dict[str, type[AcceleratorSpecification]] = {
    "cuda": CudaSpecification,
    "mps": MPSSpecification,
    "gpu": AcceleratorSpecification,  # any kind
}

#: Everything that may follow some part of a spec: a description and a sample text of it.
#: parsimonious tells where reading stopped but names only one rule that failed there; a message
#: should list all that could come there. So _expected tries each sample at that place.
_PROBES: tuple[tuple[str, str], ...] = (
    ('"="', "="),
    ('"("', "("),
    ('"mem="', "mem="),
    ('"cores="', "cores="),
    ("a number", "1"),
    (f"a memory unit ({SIZE_UNITS_HELP})", "G"),
    (f"a time unit ({TIME_UNITS_HELP})", "h"),
    ("duration=..., cpu(...), cuda(...), mps(...) or gpu(...)", "cpu(cores=1)"),
    ('","', ","),
    ('")"', ")"),
    ('"*"', "*"),
    ('"&"', "&"),
    ('"|"', "|"),
    ("the end of the spec", ""),
)


class RequirementSpecError(ValueError):
    """A requirement spec that cannot be read; the message shows where, with a caret."""

    def __init__(self, spec: str, position: int, reason: str) -> None:
        self.spec = spec
        #: Index in ``spec`` of the character the caret points at.
        self.position = position
        self.reason = reason
        super().__init__(self._message())

    @property
    def line(self) -> int:
        """1-based line of the error (specs may span lines)."""
        return self.spec.count("\n", 0, self.position) + 1

    @property
    def column(self) -> int:
        """1-based column of the error in its line."""
        return self.position - (self.spec.rfind("\n", 0, self.position) + 1) + 1

    def _message(self) -> str:
        if not self.spec.strip():
            return f"invalid requirement spec: {self.reason}"
        where = f"column {self.column}"
        if "\n" in self.spec:
            where = f"line {self.line}, {where}"
        text = self.spec.split("\n")[self.line - 1].rstrip("\r")
        # Tabs stay tabs so that the caret lines up whatever the terminal's tab width.
        padding = "".join("\t" if char == "\t" else " " for char in text[: self.column - 1])
        return f"invalid requirement spec: {self.reason} ({where})\n  {text}\n  {padding}^"


def parse(spec: str) -> RequirementUnion:
    """Read a requirement spec: alternatives (``|``) in priority order of items joined by ``&``.

    >>> str(parse("duration=4 days & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4)"))
    'duration=4d & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4)'

    Raises :class:`RequirementSpecError` with the position and what was expected.
    """
    if not spec.strip():
        reason = "the spec is empty; write e.g. cpu(cores=4) or cuda(mem=16G)"
        raise RequirementSpecError(spec, len(spec), reason)
    try:
        tree = GRAMMAR.parse(spec)
    except ParseError as error:  # parsimonious's error names a rule; ours says what to write
        raise RequirementSpecError(spec, error.pos, _expected(spec, error.pos)) from None
    return _Builder(spec).visit(tree)


def _expected(spec: str, position: int) -> str:
    """``expected X, Y or Z after "..."``: what can come at ``position`` where reading stopped."""
    expected = readable_probes(spec, position, _PROBES, _goes_past)
    return expected_message(expected, after_previous_token(spec, position))


def _goes_past(text: str, probe_start: int) -> bool:
    """Whether reading ``text`` (a prefix that failed, then a probe) gets past the whole probe."""
    try:
        _Builder(text).visit(GRAMMAR.parse(text))
    except ParseError as error:
        # Failing at the very end means the probe was read and more was wanted; the empty probe
        # (the end of the spec) must read through, though.
        return error.pos >= len(text) > probe_start
    except RequirementSpecError as error:
        # The probe was read; a complaint about it (e.g. a number without its unit) or later
        # still means it was expected. One about earlier text (``cpu( )``) means it was not.
        return error.position >= probe_start
    return True


class _Token(NamedTuple):
    text: str
    position: int


class _Argument(NamedTuple):
    name: str  # "mem" or "cores"
    value: int
    position: int


class _Builder(NodeVisitor):
    """Turns the parse tree of a spec into requirements, checking what the grammar cannot."""

    # Our errors carry their own position: parsimonious must not wrap them in a VisitationError.
    unwrapped_exceptions = (RequirementSpecError,)

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def error(self, position: int, reason: str) -> RequirementSpecError:
        return RequirementSpecError(self.spec, position, reason)

    def generic_visit(self, node: Node, visited_children: list[Any]) -> Any:
        # Always a list: an absent optional part is then [] and a present one [value].
        return visited_children

    def visit_spec(self, node: Node, children: list[Any]) -> RequirementUnion:
        _, first, others, _ = children
        return RequirementUnion(first, *(alternative for _, alternative in others))

    def visit_alternative(self, node: Node, children: list[Any]) -> HostSimpleRequirement:
        first, others = children
        requirement = first
        for _, item in others:
            requirement = requirement & item
        return requirement

    def visit_item(self, node: Node, children: list[Any]) -> HostSimpleRequirement:
        return children[0]

    def visit_duration(self, node: Node, children: list[Any]) -> HostSimpleRequirement:
        _, _, _, number, unit = children
        if not unit:
            reason = f"duration={number.text} needs a unit ({TIME_UNITS_HELP}), e.g. duration={number.text}h"
            raise self.error(number.position, reason)
        return HostSimpleRequirement(duration=duration_in_seconds(number.text, unit[0].text))

    def visit_cpu(self, node: Node, children: list[Any]) -> HostSimpleRequirement:
        _, _, _, arguments, _ = children
        if not arguments:
            reason = "cpu() needs mem= or cores=, e.g. cpu(cores=4) or cpu(mem=8G, cores=4)"
            raise self.error(node.start, reason)
        values = self.arguments(arguments[0], "cpu")
        # A memory-only cpu(...) still needs a core (experimaestro's rule).
        cpu = CPUSpecification(memory=values.get("mem", 0), cores=values.get("cores", 1))
        return HostSimpleRequirement(cpu=cpu)

    def visit_accelerator(self, node: Node, children: list[Any]) -> HostSimpleRequirement:
        keyword, _, arguments, _, repeat = children
        values = self.arguments(arguments[0], keyword.text) if arguments else {}
        # cuda() with no memory asks for one device of any size.
        device = _ACCELERATOR_CLASSES[keyword.text](memory=values.get("mem", 0))
        count = repeat[0] if repeat else 1
        return HostSimpleRequirement(accelerators=[device] * count)

    def arguments(self, arguments: list[Any], keyword: str) -> dict[str, int]:
        first, others = arguments
        values: dict[str, int] = {}
        for argument in [first, *(argument for _, argument in others)]:
            if argument.name in values:
                raise self.error(argument.position, f"{argument.name}= is given twice in {keyword}(...)")
            values[argument.name] = argument.value
        return values

    def visit_accelerator_kind(self, node: Node, children: list[Any]) -> _Token:
        return _Token(node.children[0].text, node.start)

    def visit_cpu_arg(self, node: Node, children: list[Any]) -> _Argument:
        return children[0]

    def visit_mem_arg(self, node: Node, children: list[Any]) -> _Argument:
        _, _, _, number, unit = children
        if not unit:
            # A bare number would be bytes: never what is meant.
            reason = f"mem={number.text} needs a unit, e.g. mem={number.text}G or mem={number.text}GiB"
            raise self.error(number.position, reason)
        return _Argument("mem", size_in_bytes(number.text, unit[0].text), node.start)

    def visit_cores_arg(self, node: Node, children: list[Any]) -> _Argument:
        _, _, _, number = children
        return _Argument("cores", self.whole(number, "cores"), node.start)

    def visit_repeat(self, node: Node, children: list[Any]) -> int:
        _, number = children
        return self.whole(number, "the count after *")

    def whole(self, number: _Token, what: str) -> int:
        """A count: a whole number, at least 1."""
        if not number.text.isdigit() or int(number.text) < 1:
            reason = f"{what} must be a whole number of at least 1, not {number.text}"
            raise self.error(number.position, reason)
        return int(number.text)

    def visit_number(self, node: Node, children: list[Any]) -> _Token:
        return _Token(node.children[0].text, node.start)

    def visit_size_unit(self, node: Node, children: list[Any]) -> _Token:
        return _Token(node.children[0].text, node.start)

    visit_time_unit = visit_size_unit
