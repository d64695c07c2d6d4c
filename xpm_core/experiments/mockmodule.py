"""experimaestro's ``experimaestro.experiments.mockmodule`` (porting by changing imports)."""

from xpm_core.experiments.fake_modules import (
    FakeModule,
    FakeModuleFinder,
    mock_modules,
    noop_decorator,
)

__all__ = ["FakeModule", "FakeModuleFinder", "mock_modules", "noop_decorator"]
