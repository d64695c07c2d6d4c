"""The registry: components from every plugin, validated names, conflicts, dispatch and events."""

from __future__ import annotations

import logging
import sys
from fractions import Fraction
from types import SimpleNamespace

import pytest

from xpm_core import hookimpl
from xpm_core.plugin.components import ConnectorMatch, LauncherType
from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.manager import PluginLoadWarning, make_plugin_manager
from xpm_core.plugin.registry import PluginRegistry, UnhandledURLError, UnknownComponentError


def registry_with(*plugins: tuple[str, object]) -> PluginRegistry:
    return PluginRegistry(make_plugin_manager(load_entrypoints=False, extra_plugins=plugins))


def launcher_plugin(*names: str, fail: bool = False):
    class Plugin:
        @hookimpl
        def xpm_launchers(self):
            if fail:
                raise RuntimeError("boom")
            return [LauncherType(name=name, factory="collections:OrderedDict") for name in names]

    return Plugin()


def test_components_of_every_kind(kitchen_site):
    registry = PluginRegistry(make_plugin_manager())
    builtin = {name for name, record in registry.pm.records.items() if record.builtin}

    def mine(kind: str) -> list[str]:
        # Real plugins may be installed too: keep the kitchen sink's and the core's components.
        components = registry.components()[kind]
        return sorted(n for n in components if components.plugin_of(n) in builtin | {"kitchen"})

    assert mine("connector") == ["kitchen", "local"]
    assert mine("launcher") == ["direct", "kitchen"]
    assert "fraction" in mine("serializer")
    assert "kitchen" in mine("monitor")
    assert {"kitchen", "plugins"} <= set(mine("command"))
    assert registry.launchers().provider("kitchen") == "xpm-kitchen-sink (kitchen)"
    assert registry.provided_by("kitchen") == {
        "connectors": ["kitchen"], "launchers": ["kitchen"], "serializers": ["fraction"],
        "monitors": ["kitchen"], "commands": ["kitchen"], "skill_sections": ["kitchen"],
    }


def test_factories_stay_unimported_until_used(kitchen_site, monkeypatch):
    monkeypatch.delitem(sys.modules, "kitchen_sink._impl", raising=False)
    registry = PluginRegistry(make_plugin_manager())
    launcher_type = registry.launchers()["kitchen"]
    assert "kitchen_sink._impl" not in sys.modules
    launcher = launcher_type.create()
    assert type(launcher).__name__ == "KitchenLauncher"
    assert launcher_type.load_settings().__name__ == "KitchenSettings"


def test_name_conflict_names_both_providers():
    registry = registry_with(("first", launcher_plugin("gpu")), ("second", launcher_plugin("gpu", "cpu")))
    with pytest.warns(PluginLoadWarning) as caught:
        launchers = registry.launchers()
    assert [str(w.message) for w in caught] == [
        "launcher 'gpu' is provided by both first and second; using the one from first "
        "(set XPM_DISABLE_PLUGINS to choose)"
    ]
    assert launchers.plugin_of("gpu") == "first"
    assert sorted(launchers) == ["cpu", "direct", "gpu"]
    assert registry.problems == [str(caught[0].message)]


@pytest.mark.parametrize("bad", ["Slurm", "my launcher", "", "1abc"])
def test_invalid_names_are_skipped_with_a_reason(bad):
    registry = registry_with(("odd", launcher_plugin(bad, "fine")))
    with pytest.warns(PluginLoadWarning, match=r"odd: launcher skipped: invalid component name"):
        assert sorted(registry.launchers()) == ["direct", "fine"]


def test_a_raising_registration_hook_hides_nothing_else():
    registry = registry_with(("bad", launcher_plugin(fail=True)), ("good", launcher_plugin("good")))
    with pytest.warns(PluginLoadWarning, match=r"bad: xpm_launchers\(\) failed: RuntimeError: boom"):
        assert sorted(registry.launchers()) == ["direct", "good"]


def test_wrong_descriptor_class_is_reported():
    class Plugin:
        @hookimpl
        def xpm_connectors(self):
            return [LauncherType(name="oops", factory="x:y")]

    registry = registry_with(("mixed", Plugin()))
    with pytest.warns(PluginLoadWarning, match=r"mixed: xpm_connectors\(\) yielded .* expected ConnectorType"):
        assert list(registry.connectors()) == ["local"]


def test_unknown_component_error_lists_what_exists():
    registry = registry_with(("one", launcher_plugin("gpu", "cpu")))
    with pytest.raises(UnknownComponentError, match=r"no launcher named 'slurm' is installed \(available: cpu, direct, gpu\)"):
        registry.launchers()["slurm"]


def test_connector_for_url_dispatch_and_fallback(kitchen_site):
    registry = PluginRegistry(make_plugin_manager())
    assert registry.connector_for_url("kitchen://box/data") == ConnectorMatch(
        "kitchen", {"host": "box", "path": "/data"}
    )
    assert registry.connector_for_url("/scratch/xp") == ConnectorMatch("local", {"path": "/scratch/xp"})
    assert registry.connector_for_url("file:///scratch/xp") == ConnectorMatch("local", {"path": "/scratch/xp"})
    # (xpm-ssh, when installed, handles ssh://: ask for a scheme no plugin claims)
    with pytest.raises(UnhandledURLError, match=r"no installed connector handles 'gopher://h/p' \(installed connectors: kitchen, local(, ssh)?\)"):
        registry.connector_for_url("gopher://h/p")


def test_serializer_lookup_by_type_and_tag(kitchen_site):
    registry = PluginRegistry(make_plugin_manager())

    class MyFraction(Fraction):
        pass

    class Unclaimed:
        pass

    assert registry.serializer_for_type(MyFraction).name == "fraction"
    assert registry.serializer_for_type(Unclaimed) is None
    assert registry.serializer_for_tag("fraction").name == "fraction"
    serializer = registry.serializer_for_tag("fraction").create()
    assert serializer.deserialize(serializer.serialize(Fraction(3, 4))) == Fraction(3, 4)


def test_events_reach_every_plugin_even_when_one_raises(kitchen_site, kitchen_events, caplog):
    class Broken:
        @hookimpl
        def xpm_job_state_changed(self, job):
            raise ValueError("monitor bug")

    pm = make_plugin_manager(extra_plugins=[("broken-monitor", Broken())])
    registry = PluginRegistry(pm)
    experiment = SimpleNamespace(id="xp1", run_id="r1")
    job = SimpleNamespace(identifier="abc", task_id="t")
    with caplog.at_level(logging.ERROR, logger="xpm.plugins"):
        registry.experiment_started(experiment)
        registry.job_state_changed(job, JobState.WAITING, JobState.RUNNING)
        registry.experiment_finished(experiment, failed=False)
    assert kitchen_events == [
        ("started", "xp1"),
        ("job", "abc", JobState.WAITING, JobState.RUNNING),
        ("finished", "xp1", False),
    ]
    assert "broken-monitor: xpm_job_state_changed raised" in caplog.text
    assert "monitor bug" in caplog.text
