"""Shared fixtures of the core's tests: plugin distributions installed into a temporary site folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Test modules import helpers such as runtime_support; --import-mode=importlib does not put
# this folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))

import attrs
import pytest

from xpm_core.plugin.manager import DISABLE_PLUGINS_ENV, LOAD_PLUGINS_ENV
from xpm_core.testing import write_distribution

TEST_PLUGINS = Path(__file__).parent / "plugins"
KITCHEN_SINK = "xpm-kitchen-sink"


@pytest.fixture(autouse=True)
def _no_plugin_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set the loading controls themselves; the caller's environment must not leak in."""
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    monkeypatch.delenv(DISABLE_PLUGINS_ENV, raising=False)


@pytest.fixture(autouse=True)
def _restore_registry():
    """A test that installs a registry (make_cli(pm), use_registry) must not leak it to the next."""
    from xpm_core.plugin.registry import install_registry

    previous = install_registry(None)
    install_registry(previous)
    yield
    install_registry(previous)


@attrs.define
class PluginSite:
    """A folder on sys.path (and on PYTHONPATH for child processes) holding fake distributions."""

    path: Path
    #: Distribution name -> entry-point names, for what this site installed.
    installed: dict[str, list[str]] = attrs.field(factory=dict)

    def install(self, name: str, entry_points: dict[str, str], modules: dict | None = None) -> None:
        write_distribution(self.path, name, entry_points=entry_points, modules=modules)
        self.installed[name] = list(entry_points)

    def only_mine(self, rows: list[dict]) -> list[dict]:
        """The ``xpm plugins --json`` rows of this site's distributions (real plugins may be installed too)."""
        return [row for row in rows if row["distribution"] in self.installed]

    def statuses(self, pm) -> dict[str, str]:
        """Entry-point name -> status, for this site's plugins."""
        mine = {ep for eps in self.installed.values() for ep in eps}
        return {name: record.status for name, record in pm.records.items() if name in mine}

    def install_kitchen_sink(self) -> None:
        self.install(KITCHEN_SINK, {"kitchen": "kitchen_sink.plugin"})

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (LOAD_PLUGINS_ENV, DISABLE_PLUGINS_ENV)}
        env["PYTHONPATH"] = os.pathsep.join([str(self.path), str(TEST_PLUGINS)])
        env.update(overrides)
        return env

    def run_xpm(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run the real ``xpm`` command line in a child process that sees this site."""
        return subprocess.run(
            [sys.executable, "-m", "xpm_core", *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            timeout=60,
        )


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginSite:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(TEST_PLUGINS))
    monkeypatch.syspath_prepend(str(site))
    return PluginSite(site)


@pytest.fixture
def kitchen_site(plugin_site: PluginSite) -> PluginSite:
    """A site where the kitchen-sink plugin (every hook implemented) is installed."""
    plugin_site.install_kitchen_sink()
    return plugin_site


@pytest.fixture
def kitchen_events(kitchen_site: PluginSite):
    """The kitchen-sink plugin's event log, emptied before and after the test."""
    from kitchen_sink import plugin

    plugin.EVENTS.clear()
    yield plugin.EVENTS
    plugin.EVENTS.clear()
