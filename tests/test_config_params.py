"""Parameter declarations: Param, Meta, Option, Constant, field(...), bare defaults, help texts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from xpm_core import Annotated, Config, Constant, Meta, Option, Param, field, help, param_group
from xpm_core.config.errors import ConstantParameterError


def arguments(cls):
    return cls.__getxpmtype__().arguments


def test_param_meta_and_constant_kinds():
    class Kinds(Config):
        p: Param[int]
        m: Meta[int] = field(default=1)
        c: Constant[str] = "v1"

    args = arguments(Kinds)
    assert not args["p"].ignored and args["p"].required
    assert args["m"].ignored and not args["m"].required
    assert args["c"].constant and args["c"].default == "v1"
    assert Kinds.C(p=1).c == "v1"


def test_constant_cannot_be_set():
    class WithConstant(Config):
        version: Constant[int] = 2

    with pytest.raises(
        ConstantParameterError,
        match=r"cannot set WithConstant.version at .*: the parameter is a Constant",
    ):
        WithConstant.C(version=3)
    config = WithConstant.C()
    with pytest.raises(ConstantParameterError):
        config.version = 3


def test_constant_needs_a_default():
    class NoDefault(Config):
        version: Constant[int]

    with pytest.raises(TypeError, match="a Constant needs a default value"):
        NoDefault.C()


def test_option_is_a_deprecated_meta():
    class Legacy(Config):
        o: Option[int] = field(default=1)

    with pytest.warns(DeprecationWarning, match=r"Legacy.o: Option\[...\] is deprecated, use Meta"):
        argument = arguments(Legacy)["o"]
    assert argument.ignored


def test_bare_default_warns_once_per_module_and_is_ignore_default(tmp_path, monkeypatch):
    source = (
        "from xpm_core import Config, Param\n"
        "class One(Config):\n    x: Param[int] = 3\n"
        "class Two(Config):\n    y: Param[int] = 4\n"
    )
    (tmp_path / "bare_defaults_mod.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import bare_defaults_mod as mod

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one, two = arguments(mod.One)["x"], arguments(mod.Two)["y"]
    bare = [w for w in caught if "bare default" in str(w.message)]
    assert len(bare) == 1 and "field(default=..., ignore_default=True)" in str(bare[0].message)
    assert one.ignore_default and two.ignore_default and one.default == 3


def test_field_default_is_hashed_even_when_equal():
    class Hashed(Config):
        x: Param[int] = field(default=3)

    class Ignored(Config):
        __xpmid__ = Hashed.__getxpmtype__().identifier
        x: Param[int] = field(default=3, ignore_default=True)

    assert Hashed.C().__identifier__() != Ignored.C().__identifier__()
    assert Hashed.C(x=4).__identifier__() == Ignored.C(x=4).__identifier__()


def test_field_default_factory_for_param_runs_once():
    calls = []

    def factory():
        calls.append(1)
        return [1]

    class Factory(Config):
        values: Param[list[int]] = field(default_factory=factory)

    one, two = Factory.C(), Factory.C()
    assert one.values == [1] and one.values is not two.values
    assert len(calls) == 1


def test_field_rejects_default_and_factory_together():
    with pytest.raises(ValueError, match="mutually exclusive"):
        field(default=1, default_factory=list)


def test_field_legacy_ignore_default_value():
    with pytest.warns(DeprecationWarning, match=r"field\(default=4, ignore_default=True\)"):
        legacy = field(ignore_default=4)
    assert legacy.default == 4 and legacy.ignore_default


def test_groups_are_recorded():
    group = param_group("training")

    class Grouped(Config):
        lr: Param[float] = field(default=0.1, groups=[group])

    assert arguments(Grouped)["lr"].groups == {group}


def test_override_warns_unless_declared():
    class Parent(Config):
        x: Param[int]

    with pytest.warns(UserWarning, match="overrides the parameter"):

        class Child(Parent):
            x: Param[int] = field(default=1)

        arguments(Child)

    class Quiet(Parent):
        x: Param[int] = field(default=2, overrides=True)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert arguments(Quiet)["x"].default == 2


def test_override_must_keep_the_type():
    class Parent(Config):
        x: Param[int]

    class Child(Parent):
        x: Param[str] = field(default="a", overrides=True)

    with pytest.raises(TypeError, match="overrides a parameter of type int with str"):
        arguments(Child)


def test_help_from_docstrings_and_annotations():
    class Documented(Config):
        """A documented configuration.

        Attributes:
            size: the size
                on two lines
            rate: overridden below
        """

        size: Param[int]
        rate: Param[float]
        """The learning rate"""
        name: Annotated[str, help("the name")] = field(default="n")
        path: Meta[Annotated[Path, help("where")]] = field(default=Path("/x"))

    args = arguments(Documented)
    assert args["size"].help == "the size on two lines"
    assert args["rate"].help == "The learning rate"
    assert args["path"].help == "where"


def test_annotations_without_param_are_not_parameters():
    class Plain(Config):
        not_a_param: int = 3
        x: Param[int]

    assert list(arguments(Plain)) == ["x"]
