"""pytest fixtures for plugin test suites, loaded through the ``pytest11`` entry point.

pytest imports this module in every test session of any project, so it imports nothing of
xpm at module level: each fixture imports what it needs when it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from click.testing import Result

    from xpm_core.plugin.manager import XpmPluginManager
    from xpm_core.plugin.registry import PluginRegistry


@pytest.fixture
def xpm_pm() -> XpmPluginManager:
    """A fresh plugin manager over the installed plugins (honours XPM_LOAD/DISABLE_PLUGINS)."""
    from xpm_core.plugin.manager import make_plugin_manager

    return make_plugin_manager()


@pytest.fixture
def xpm_registry(xpm_pm: XpmPluginManager) -> Iterator[PluginRegistry]:
    """The typed registry over ``xpm_pm``, installed as the process's registry for the test.

    The scheduler, monitors, serializers and contracts the test runs all use it.
    """
    from xpm_core.plugin.registry import PluginRegistry, use_registry

    with use_registry(PluginRegistry(xpm_pm)) as registry:
        yield registry


@pytest.fixture
def xpm_cli(xpm_registry: PluginRegistry) -> Callable[..., Result]:
    """Run the ``xpm`` command line in-process over ``xpm_registry``: ``xpm_cli("plugins", "--json")``."""
    from click.testing import CliRunner

    from xpm_core.cli import make_cli

    cli = make_cli(xpm_registry.pm)

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return run
