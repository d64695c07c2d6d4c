"""Memory sizes and durations: the units requirement specs accept, read into bytes and seconds."""

from __future__ import annotations

import math
import re
from fractions import Fraction

#: Multipliers of the size prefixes; ``G`` is decimal (10⁹ bytes), ``Gi``/``GiB`` binary (2³⁰).
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

#: A size unit: ``B``, or a prefix with an optional ``i`` (binary) and an optional ``B``.
#: Matched case-insensitively, with nothing word-like after it (``4Gx`` is no size).
SIZE_UNIT_PATTERN = r"(?:b|[kmgt]i?b?)(?![a-z0-9_])"

#: Seconds in each time unit a user may write; ``m`` is minutes, as in humanfriendly.
TIME_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
}

#: A time unit, longest names first so that ``days`` is not read as ``d`` followed by ``ays``.
TIME_UNIT_PATTERN = "(?:" + "|".join(sorted(TIME_UNITS, key=len, reverse=True)) + r")(?![a-z0-9_])"

#: The units named in messages (the most used ones).
SIZE_UNITS_HELP = "such as G, M, GiB or MiB"
TIME_UNITS_HELP = "s, min, h, d or w"

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_SIZE = re.compile(rf"\s*({_NUMBER})\s*({SIZE_UNIT_PATTERN})?\s*", re.IGNORECASE)
_DURATION = re.compile(rf"\s*({_NUMBER})\s*({TIME_UNIT_PATTERN})?\s*", re.IGNORECASE)


def bytes_per_unit(unit: str) -> int:
    """The number of bytes in one ``unit`` (``"G"``, ``"GB"``, ``"GiB"``, ``"Gi"``, ``"B"``)."""
    unit = unit.lower()
    if unit == "b":
        return 1
    table = _BINARY if unit[1:2] == "i" else _DECIMAL
    return table[unit[0]]


def seconds_per_unit(unit: str) -> int:
    """The number of seconds in one time ``unit`` (``"h"``, ``"days"`` ...)."""
    return TIME_UNITS[unit.lower()]


def size_in_bytes(number: str, unit: str) -> int:
    """``number`` ``unit`` in bytes, rounded up (a fraction of a byte is still needed)."""
    # Fraction keeps 0.3G exact (0.3 * 10**9 in floating point is a hair above 3·10⁸).
    return math.ceil(Fraction(number) * bytes_per_unit(unit))


def duration_in_seconds(number: str, unit: str) -> int:
    """``number`` ``unit`` in whole seconds, rounded up (so that ``1.5min`` is 90 s)."""
    return math.ceil(Fraction(number) * seconds_per_unit(unit))


def parse_size(value: str | int) -> int:
    """A memory size in bytes: an ``int`` is bytes already, a string needs a unit (``"4G"``)."""
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a memory size; write a number and a unit, e.g. 16G or 16GiB")
    number, unit = match.groups()
    if unit is None:
        # A bare number would mean bytes, which is never what a requirement means.
        raise ValueError(f"memory size {value!r} has no unit; write e.g. {number}G or {number}GiB")
    return size_in_bytes(number, unit)


def parse_duration(value: str | int | float) -> int:
    """A duration in seconds: a number is seconds already, a string needs a unit (``"4h"``)."""
    if isinstance(value, (int, float)):
        return math.ceil(value)
    match = _DURATION.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration; write a number and a unit ({TIME_UNITS_HELP})")
    number, unit = match.groups()
    if unit is None:
        raise ValueError(f"duration {value!r} has no unit; write e.g. {number}h or {number}d")
    return duration_in_seconds(number, unit)


def format_size(size: int) -> str:
    """The shortest exact way to write ``size`` bytes in a spec (``4G``, ``16GiB``, ``300B``)."""
    if size > 0:
        for prefix in "TGMK":
            # Binary first: 16GiB is better than 17179.869184M, and is what the user wrote.
            for unit, table in ((f"{prefix}iB", _BINARY), (prefix, _DECIMAL)):
                if size % table[prefix.lower()] == 0:
                    return f"{size // table[prefix.lower()]}{unit}"
    return f"{size}B"


def format_duration(seconds: int) -> str:
    """The shortest exact way to write a duration in a spec (``4d``, ``90min``, ``45s``)."""
    if seconds > 0:
        for unit in ("d", "h", "min"):
            if seconds % TIME_UNITS[unit] == 0:
                return f"{seconds // TIME_UNITS[unit]}{unit}"
    return f"{seconds}s"
