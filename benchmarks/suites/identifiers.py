"""Identifier suite: time of ``cfg.__identifier__().all`` on large and deep configuration trees."""

# No `from __future__ import annotations`: the configuration classes below are local,
# so their Param annotations must be evaluated where `api` is in scope.
import functools
from types import ModuleType, SimpleNamespace
from typing import Any

from benchmarks.registry import Run, workload

REQUIRES = ("Config", "Param")


@functools.cache
def config_types(api: ModuleType) -> SimpleNamespace:
    """The configuration classes of this suite, written against the API shared by both packages."""

    # Defined in a function because the package is chosen at run time. The explicit
    # __xpmid__ makes this allowed (experimaestro refuses function-local classes that
    # derive their type id from __qualname__) and keeps the type ids, hence the
    # identifiers, equal across implementations.
    class Small(api.Config):
        __xpmid__ = "benchmarks.identifiers.small"
        x: api.Param[int]
        name: api.Param[str]
        rate: api.Param[float]

    class Link(api.Config):
        __xpmid__ = "benchmarks.identifiers.link"
        value: api.Param[int]

    class Node(Link):
        __xpmid__ = "benchmarks.identifiers.node"
        child: api.Param[Link]

    class Ints(api.Config):
        __xpmid__ = "benchmarks.identifiers.ints"
        values: api.Param[list[int]]

    return SimpleNamespace(Small=Small, Link=Link, Node=Node, Ints=Ints)


def build_chain(types: SimpleNamespace, depth: int) -> Any:
    """A chain of ``depth`` configs: nodes each holding the next, down to a final link."""
    config = types.Link.C(value=0)
    for value in range(1, depth):
        config = types.Node.C(value=value, child=config)
    return config


def deepest_chain(types: SimpleNamespace, failing_depth: int) -> int:
    """Deepest chain (below ``failing_depth``) whose identifier computes without RecursionError."""
    works, fails = 1, failing_depth
    while fails - works > 1:
        middle = (works + fails) // 2
        try:
            build_chain(types, middle).__identifier__()
        except RecursionError:
            fails = middle
        else:
            works = middle
    return works


@workload(size=10_000, quick_size=100, requires=REQUIRES)
def small_configs(api: ModuleType, size: int) -> Run:
    """Identifiers of N independent small configs (an int, a str and a float each)."""
    types = config_types(api)
    configs = [types.Small.C(x=i, name=f"config-{i}", rate=i / 7) for i in range(size)]

    def run() -> bytes:
        return b"".join(config.__identifier__().all for config in configs)

    return run


@workload(size=1_000, quick_size=50, requires=REQUIRES)
def nested_chain(api: ModuleType, size: int) -> Run:
    """Identifier of a chain of N nested configs (each one holds the next)."""
    types = config_types(api)
    chain = build_chain(types, size)

    def run() -> bytes:
        try:
            return chain.__identifier__().all
        except RecursionError as error:
            # Quoting the depth where it breaks says more than "maximum recursion depth exceeded".
            raise RecursionError(
                f"at depth {size} (deepest chain that works: {deepest_chain(types, size)})"
            ) from error

    return run


@workload(size=300, quick_size=50, requires=REQUIRES)
def shallow_chain(api: ModuleType, size: int) -> Run:
    """Identifier of a chain of N nested configs, within experimaestro's recursion limit."""
    # nested_chain at its full depth fails on experimaestro: this one gives a speed comparison.
    return nested_chain(api, size)


@workload(size=10_000, quick_size=100, requires=REQUIRES)
def int_list(api: ModuleType, size: int) -> Run:
    """Identifier of one config holding a list of N ints."""
    types = config_types(api)
    config = types.Ints.C(values=list(range(size)))

    def run() -> bytes:
        return config.__identifier__().all

    return run
