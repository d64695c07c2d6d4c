"""Values are checked and coerced against their annotations; errors say what, where and what was expected."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pytest

from xpm_core import Config, Param, Task, field, sealed_set
from xpm_core.config.errors import InvalidParameterError


class Color(Enum):
    RED = 1
    BLUE = 2


class Item(Config):
    v: Param[int] = field(default=0)


class Special(Item):
    pass


class Other(Config):
    w: Param[int] = field(default=0)


class Job(Task):
    pass


class Values(Config):
    i: Param[Optional[int]] = None
    f: Param[Optional[float]] = None
    s: Param[Optional[str]] = None
    b: Param[Optional[bool]] = None
    p: Param[Optional[Path]] = None
    e: Param[Optional[Color]] = None
    li: Param[Optional[list[int]]] = None
    di: Param[Optional[dict[str, float]]] = None
    se: Param[Optional[set[int]]] = None
    si: Param[Optional[set[Item]]] = None
    tu: Param[Optional[tuple[int, str]]] = None
    tv: Param[Optional[tuple[float, ...]]] = None
    u: Param[Optional[Union[int, str]]] = None
    lit: Param[Optional[Literal["a", "b"]]] = None
    item: Param[Optional[Item]] = None
    items: Param[Optional[list[Item]]] = None
    job: Param[Optional[Job]] = None
    anything: Param[Any] = None


@pytest.mark.parametrize(
    "name, given, expected",
    [
        ("i", "5", 5),
        ("i", True, 1),
        ("i", 3.0, 3),
        ("f", 1, 1.0),
        ("f", "0.5", 0.5),
        ("s", "x", "x"),
        ("b", "yes", True),
        ("b", 0, False),
        ("p", "/tmp/x", Path("/tmp/x")),
        ("e", Color.RED, Color.RED),
        ("li", [1, "2"], [1, 2]),
        ("di", {"a": 1}, {"a": 1.0}),
        ("se", {1, 2}, {1, 2}),
        ("tu", [1, "a"], (1, "a")),
        ("tv", (1, 2), (1.0, 2.0)),
        ("u", "5", "5"),
        ("u", 5, 5),
        ("lit", "a", "a"),
        ("anything", object, object),
    ],
)
def test_accepted_values_are_coerced(name, given, expected):
    value = getattr(Values.C(**{name: given}), name)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "name, given, expected",
    [
        ("i", "abc", "expected int, got 'abc' (str)"),
        ("i", 1.5, "expected int, got 1.5 (float)"),
        ("s", 3, "expected str, got 3 (int)"),
        ("b", 2, "expected bool, got 2 (int)"),
        ("p", 3, "expected Path (or str)"),
        ("e", 1, "expected Color, got 1 (int)"),
        ("li", (1, 2), "expected list[int]"),
        ("li", [1, "x"], "element 1: expected int, got 'x'"),
        ("di", {"a": "x"}, "entry 'a': expected float"),
        ("tu", (1, 2, 3), "a tuple of 2 elements is needed"),
        ("lit", "c", "expected one of 'a', 'b', got 'c'"),
        ("item", Other.C(), "Other is not a subclass of Item"),
        ("item", Item(), "build it with Item.C(...)"),
        ("job", Job.C(), "must be submitted"),
        ("si", {1}, "expected set[Item]"),
    ],
)
def test_rejected_values_name_class_parameter_type_value_and_location(name, given, expected):
    with pytest.raises(InvalidParameterError) as error:
        Values.C(**{name: given})
    message = str(error.value)
    assert f"invalid value for parameter '{name}' of Values (set at " in message
    assert "test_config_validation.py:" in message
    assert expected in message


def test_config_subclasses_are_accepted():
    assert isinstance(Values.C(item=Special.C()).item, Special)
    assert len(Values.C(items=[Item.C(), Special.C(v=1)]).items) == 2


def test_sets_of_configurations_must_be_sealed():
    with pytest.raises(TypeError, match="use sealed_set"):
        Values.C(si={Item.C(v=1)})
    assert len(Values.C(si=sealed_set(Item.C(v=1), Item.C(v=2))).si) == 2


def test_required_parameter_cannot_be_none():
    class Required(Config):
        x: Param[int]

    with pytest.raises(
        InvalidParameterError, match="cannot set the required parameter Required.x to None"
    ):
        Required.C(x=None)


def test_invalid_default_is_reported_with_the_class():
    class BadDefault(Config):
        x: Param[int] = field(default="abc")

    with pytest.raises(TypeError, match=r"BadDefault.x: invalid default value: expected int"):
        BadDefault.C()
