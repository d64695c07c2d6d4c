"""What every contract class shares: declared skips, patience, and the registry it tests against."""

from __future__ import annotations

import time
from typing import Callable, ClassVar, Iterator, Mapping, Sequence

import pytest

from xpm_core.plugin.registry import PluginRegistry, get_registry, use_registry


class Contract:
    """Base of the contract classes of ``xpm_core.testing``.

    - ``skip_tests``: behaviour a component cannot offer, as ``{reason: [test names]}``; those
      tests are skipped with the reason (rather than overridden, which would hide them).
    - ``patience``: seconds a test waits for something to happen before failing (batch systems
      and remote hosts are slow: raise it, never sleep in tests).
    - :meth:`make_registry`: the registry the contract runs against, installed as the
      process's registry for each test (default: the installed plugins).
    """

    skip_tests: ClassVar[Mapping[str, Sequence[str]]] = {}
    patience: ClassVar[float] = 30.0

    def make_registry(self) -> PluginRegistry:
        """The registry under test; override to test a plugin manager of your own."""
        return get_registry()

    @pytest.fixture(autouse=True)
    def _contract_setup(self, request: pytest.FixtureRequest) -> Iterator[None]:
        for reason, names in self.skip_tests.items():
            if request.function.__name__ in names:
                pytest.skip(reason)
        with use_registry(self.make_registry()):
            yield

    @property
    def registry(self) -> PluginRegistry:
        """The registry installed for the running test."""
        return get_registry()

    def until(self, predicate: Callable[[], object], what: str, patience: float | None = None) -> None:
        """Wait (polling every 50 ms) until ``predicate()`` is true; fail naming ``what`` after patience."""
        limit = self.patience if patience is None else patience
        deadline = time.monotonic() + limit
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {limit} s waiting for {what}")
            time.sleep(0.05)
