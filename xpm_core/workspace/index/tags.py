"""How the index stores a tag value (its JSON, its text, its number) and what a tag test matches."""

from __future__ import annotations

import json
from typing import Any, Optional


def tag_columns(value: Any) -> tuple[str, str, Optional[float]]:
    """A tag as the index stores it (``job_tags``: value, text, number): its JSON, its string form
    and its number. 0.01 -> ("0.01", "0.01", 0.01); "a" -> ('"a"', "a", None);
    True -> ("true", "true", None)."""
    as_json = json.dumps(value, sort_keys=True)
    text = value if isinstance(value, str) else as_json
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return as_json, text, number


def tag_match_values(value: Any) -> tuple[str, Optional[float]]:
    """What a tag filter value matches: its string form, and its number (``"0.01"`` matches 0.01)."""
    _, text, number = tag_columns(value)
    if number is None and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    return text, number


def python_text(value_json: Optional[str]) -> Optional[str]:
    """``str()`` of a tag value given as its JSON: how a sort by tag orders values that are neither
    numbers nor strings (``true`` -> ``"True"``), as Python would."""
    return None if value_json is None else str(json.loads(value_json))
