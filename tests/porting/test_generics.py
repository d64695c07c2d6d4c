"""Generic configurations (reference A5): TypeVar bindings checked when values are set and at validation."""

from __future__ import annotations

from typing import Generic, List, Tuple, TypeVar, Union

import pytest

from xpm_core import Config, Param
from xpm_core.config.generics import GenericTypeError

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")
W = TypeVar("W")


class Simple(Config):
    pass


class SimpleChild(Simple):
    pass


class Single(Config, Generic[T]):
    x: Param[T]


class Double(Config, Generic[T]):
    x: Param[T]
    y: Param[T]


def test_a_binding_is_kept_per_configuration():
    a = Single.C(x=2)
    a.x = 3
    with pytest.raises(TypeError, match=r"Single.x binds T to str, but Single.x bound it to int"):
        a.x = "a string"
    assert a.x == 3  # the refused value changed nothing
    Single.C(x="a string")  # another configuration binds T anew


def test_two_parameters_binding_one_typevar_must_agree():
    Double.C(x=1, y=1)
    with pytest.raises(GenericTypeError, match=r"parameter 'y'.*binds T to str, but Double.x bound it to int"):
        Double.C(x=1, y="a")


def test_bindings_widen_to_a_superclass_and_accept_subclasses():
    a = Double.C(x=SimpleChild.C())
    a.y = Simple.C()
    a.x = SimpleChild.C()
    with pytest.raises(TypeError):
        a.x = "a string"
    a.y = object()  # T widens to object: anything goes now
    a.x = "a string"


def test_bindings_of_sub_configurations_count():
    with pytest.raises(TypeError, match="binds T to"):
        Double.C(x=Double.C(x=1, y=2), y=Double.C(x=3, y=4))


class Bounded(Config, Generic[U]):
    x: Param[U]


Bound = TypeVar("Bound", bound=SimpleChild)


class BoundedChild(Config, Generic[Bound]):
    x: Param[Bound]


def test_a_bound_typevar_is_checked():
    a = BoundedChild.C(x=SimpleChild.C())
    with pytest.raises(TypeError, match=r"Bound \(bound to SimpleChild\)"):
        a.x = Simple.C()


class Pairwise:
    pass


class Batchwise:
    pass


class Sampler(Config, Generic[U]):
    pass


class BatchSampler(Sampler[Batchwise]):
    pass


class Container(Config):
    sampler: Param[Sampler[Pairwise]]


def test_a_declared_type_argument_is_checked():
    with pytest.raises(TypeError, match="BatchSampler has type argument Batchwise where Sampler\\[Pairwise\\]"):
        Container.C(sampler=BatchSampler.C())


class Converter(Config, Generic[V, W]):
    pass


TokenizerInput = Union[str, List[str], List[Tuple[str, str]]]


class TextConverter(Converter[str, str]):
    pass


class IntConverter(Converter[str, int]):
    pass


class Adapter(Config):
    converter: Param[Converter[str, TokenizerInput]]


def test_union_type_arguments_accept_members_only():
    converter = TextConverter.C()
    assert Adapter.C(converter=converter).converter is converter
    with pytest.raises(TypeError, match="type argument int"):
        Adapter.C(converter=IntConverter.C())


class Holder(Config, Generic[T]):
    held: Param[T]


class Wrapper(Config, Generic[T]):
    inner: Param[Holder[T]]


class UHolder(Config, Generic[U]):
    held: Param[U]


def test_validation_rechecks_the_whole_tree():
    wrapped = Wrapper.C(inner=Holder.C(held=Simple.C()))
    wrapped.inner.held = SimpleChild.C()
    wrapped.__xpm__.validate()
    pair = Double.C(x=UHolder.C(held=1), y=UHolder.C(held=2))
    pair.__xpm__.validate()
    # a sub-configuration changed after its parent got it: only validation sees the whole tree
    deep = Double.C(x=UHolder.C(), y=UHolder.C())
    deep.x.held = 1
    deep.y.held = "s"
    with pytest.raises(TypeError, match="binds U to"):
        deep.__xpm__.validate()
