"""Workload registration: the ``@workload`` decorator and discovery of ``benchmarks/suites/``."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Callable, Optional

import attrs

SUITES_PACKAGE = "benchmarks.suites"

# A workload's setup receives the implementation's package (xpm_core or experimaestro)
# and a size; it builds everything untimed and returns the callable that is timed.
# The callable may return bytes (e.g. identifiers) so that the runner can check that
# both implementations computed the same thing.
Run = Callable[[], Optional[bytes]]
Setup = Callable[[ModuleType, int], Run]


@attrs.frozen(kw_only=True)
class Workload:
    name: str
    description: str
    size: int
    quick_size: int
    requires: tuple[str, ...]
    setup: Setup

    @property
    def suite(self) -> str:
        return self.name.split(".", 1)[0]


_workloads: dict[str, Workload] = {}


def workload(*, size: int, quick_size: int, requires: tuple[str, ...]) -> Callable[[Setup], Setup]:
    """Register the decorated setup function as workload ``<suite module>.<function name>``.

    ``requires`` lists the names the workload imports from the implementation's package;
    a package lacking one is reported as "not available" instead of failing.
    """

    def register(setup: Setup) -> Setup:
        name = f"{setup.__module__.rsplit('.', 1)[-1]}.{setup.__name__}"
        docstring = (setup.__doc__ or "").strip()
        if not docstring:
            raise ValueError(
                f"workload {name} needs a docstring: its first line describes the workload"
            )
        if name in _workloads:
            raise ValueError(f"workload {name} is registered twice")
        _workloads[name] = Workload(
            name=name,
            description=docstring.splitlines()[0],
            size=size,
            quick_size=quick_size,
            requires=requires,
            setup=setup,
        )
        return setup

    return register


def suite_names() -> list[str]:
    package = importlib.import_module(SUITES_PACKAGE)
    return sorted(
        module.name
        for module in pkgutil.iter_modules(package.__path__)
        if not module.name.startswith("_")
    )


def all_workloads() -> list[Workload]:
    """Every registered workload, by suite name then definition order."""
    for suite in suite_names():
        importlib.import_module(f"{SUITES_PACKAGE}.{suite}")
    return sorted(_workloads.values(), key=lambda w: w.suite)


def find_workload(name: str) -> Workload:
    """Import only the suite that defines ``name``, so a worker does not pay for the others."""
    suite = name.split(".", 1)[0]
    if suite not in suite_names():
        raise KeyError(f"no benchmark suite named {suite!r}")
    importlib.import_module(f"{SUITES_PACKAGE}.{suite}")
    if name not in _workloads:
        raise KeyError(f"suite {suite!r} has no workload {name!r}")
    return _workloads[name]
