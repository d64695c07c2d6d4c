"""Contract test classes: behaviour every xpm plugin must show, shared by all plugin test suites.

Subclass a contract in a plugin's tests (``class TestSlurmPackage(PluginPackageContract)``) and
set its class attributes. Contract names end in ``Contract`` so pytest never collects them alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from importlib.metadata import EntryPoint, distribution
from typing import ClassVar

from xpm_core.plugin.components import resolve
from xpm_core.plugin.manager import (
    DISABLE_PLUGINS_ENV,
    ENTRY_POINT_GROUP,
    LOAD_PLUGINS_ENV,
    PluginLoadWarning,
    make_plugin_manager,
)
from xpm_core.plugin.registry import PluginRegistry

#: Top-level packages an entry module may pull in besides the standard library and itself:
#: what ``xpm_core.plugin.hookspecs`` and ``xpm_core.plugin.components`` need.
LIGHT_PACKAGES = frozenset({"xpm_core", "pluggy", "attr", "attrs"})


def _subprocess_env() -> dict[str, str]:
    """The environment for child Pythons: same import path, no plugin filtering."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.pop(LOAD_PLUGINS_ENV, None)
    env.pop(DISABLE_PLUGINS_ENV, None)
    return env


class PluginPackageContract:
    """A distribution that ships xpm plugins: discoverable, cheap to load, well-formed, active.

    Set ``distribution`` to the distribution name (``"xpm-slurm"``). A plugin whose entry module
    legitimately needs another light package lists it in ``allowed_imports``.
    """

    distribution: ClassVar[str]
    allowed_imports: ClassVar[frozenset[str]] = frozenset()

    def entry_points(self) -> list[EntryPoint]:
        """The distribution's entry points in the ``xpm`` group."""
        dist = distribution(self.distribution)
        return [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]

    def plugin_registry(self) -> PluginRegistry:
        """A registry holding the built-ins and this distribution's plugins only."""
        plugins = [(ep.name, ep.load()) for ep in self.entry_points()]
        return PluginRegistry(make_plugin_manager(load_entrypoints=False, extra_plugins=plugins))

    def test_declares_an_xpm_entry_point(self) -> None:
        assert self.entry_points(), (
            f"{self.distribution} declares no entry point in group {ENTRY_POINT_GROUP!r}; add "
            f'[project.entry-points.{ENTRY_POINT_GROUP}] name = "package.plugin" to its pyproject.toml'
        )

    def test_entry_module_imports_nothing_heavy(self) -> None:
        own = {ep.value.partition(":")[0].split(".")[0] for ep in self.entry_points()}
        allowed = set(sys.stdlib_module_names) | LIGHT_PACKAGES | own | self.allowed_imports
        for ep in self.entry_points():
            module = ep.value.partition(":")[0]
            probe = (
                "import json, sys; before = set(sys.modules); "
                f"import {module}; "
                "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
            )
            out = subprocess.run(
                [sys.executable, "-c", probe],
                capture_output=True,
                text=True,
                env=_subprocess_env(),
                check=True,
            ).stdout
            heavy = sorted(set(json.loads(out)) - allowed)
            assert not heavy, (
                f"importing the entry module {module} of {self.distribution} imports {heavy}; "
                "import them inside the implementation modules that descriptor factories name "
                "('module:attr' strings), so 'xpm --help' stays fast"
            )

    def test_hooks_are_known_and_valid(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PluginLoadWarning)
            pm = make_plugin_manager(
                load_entrypoints=False,
                extra_plugins=[(ep.name, ep.load()) for ep in self.entry_points()],
            )
        pm.check_pending()

    def test_components_are_well_formed(self) -> None:
        registry = self.plugin_registry()
        with warnings.catch_warnings():
            warnings.simplefilter("error", PluginLoadWarning)
            kinds = registry.components()
        assert registry.problems == []
        names = {ep.name for ep in self.entry_points()}
        for kind, components in kinds.items():
            for name in components:
                if components.plugin_of(name) not in names:
                    continue
                component = components[name]
                assert resolve(component.factory) is not None, f"{kind} {name}: factory is None"
                settings = component.load_settings()
                if settings is not None:
                    import attrs

                    assert attrs.has(settings), (
                        f"{kind} {name}: settings {settings!r} must be an attrs class"
                    )

    def test_listed_as_active_by_xpm_plugins(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "xpm_core", "plugins", "--json"],
            capture_output=True,
            text=True,
            env=_subprocess_env(),
        )
        assert result.returncode == 0, result.stderr
        rows = {row["distribution"]: row for row in json.loads(result.stdout)}
        assert self.distribution in rows, (
            f"'xpm plugins --json' does not list {self.distribution}: {sorted(rows)}"
        )
        row = rows[self.distribution]
        assert row["status"] == "active", f"{self.distribution} is {row['status']}: {row['error']}"

