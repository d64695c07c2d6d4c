"""The PluginPackageContract, run on the kitchen-sink test plugin, and shown to catch bad plugins."""

from __future__ import annotations

import pytest

from xpm_core.testing import PluginPackageContract


class TestKitchenSinkPackage(PluginPackageContract):
    distribution = "xpm-kitchen-sink"

    @pytest.fixture(autouse=True)
    def _installed(self, kitchen_site):
        """The kitchen sink is installed into a temporary site for each test."""


class HeavyPackage(PluginPackageContract):
    distribution = "xpm-heavy"


def test_contract_rejects_an_entry_module_importing_a_heavy_package(plugin_site):
    plugin_site.install("xpm-heavy", {"heavy": "heavy_plugin.plugin"},
                        {"heavy_plugin/__init__.py": "", "heavy_plugin/plugin.py": "import yaml\n"})
    with pytest.raises(AssertionError, match=r"imports \[.*'yaml'\]"):
        HeavyPackage().test_entry_module_imports_nothing_heavy()


def test_contract_rejects_a_distribution_without_entry_point(plugin_site):
    plugin_site.install("xpm-heavy", {})
    with pytest.raises(AssertionError, match=r"declares no entry point in group 'xpm'"):
        HeavyPackage().test_declares_an_xpm_entry_point()


def test_contract_rejects_invalid_component_names(plugin_site):
    source = (
        "from xpm_core import hookimpl\nfrom xpm_core.plugin.components import LauncherType\n\n"
        "@hookimpl\ndef xpm_launchers():\n"
        "    yield LauncherType(name='Heavy Launcher', factory='collections:OrderedDict')\n"
    )
    plugin_site.install("xpm-heavy", {"heavy": "heavy_plugin.plugin"},
                        {"heavy_plugin/__init__.py": "", "heavy_plugin/plugin.py": source})
    with pytest.raises(Warning, match=r"invalid component name 'Heavy Launcher'"):
        HeavyPackage().test_components_are_well_formed()
