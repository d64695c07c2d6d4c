"""Loading plugins from entry points: allow-list, disable-list, broken and misspelled plugins."""

from __future__ import annotations

import json
import warnings

import pytest

from xpm_core.plugin.manager import PluginLoadWarning, PluginStatus, make_plugin_manager

BROKEN_PLUGIN = {"broken_plugin/plugin.py": "import not_a_real_module_xyz\n"}


def test_installed_plugin_is_loaded(kitchen_site):
    pm = make_plugin_manager()
    assert kitchen_site.statuses(pm) == {"kitchen": PluginStatus.ACTIVE}
    record = pm.records["kitchen"]
    assert (record.distribution, record.version) == ("xpm-kitchen-sink", "0.1.0")
    assert record.entry_point == "kitchen = kitchen_sink.plugin"


def test_empty_allow_list_loads_no_plugin(kitchen_site, monkeypatch):
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "")
    pm = make_plugin_manager()
    assert kitchen_site.statuses(pm) == {"kitchen": PluginStatus.NOT_LOADED}
    assert pm.get_plugin("kitchen") is None
    # built-ins are part of the core and are always there
    assert pm.get_plugin("xpm_core.builtin.commands.plugin") is not None


@pytest.mark.parametrize("allow", ["kitchen", "xpm-kitchen-sink", " kitchen , other"])
def test_allow_list_by_entry_point_or_distribution(kitchen_site, monkeypatch, allow):
    kitchen_site.install("xpm-other", {"other": "other_plugin.plugin"},
                         {"other_plugin/__init__.py": "", "other_plugin/plugin.py": ""})
    monkeypatch.setenv("XPM_LOAD_PLUGINS", allow)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm = make_plugin_manager()
    expected_other = PluginStatus.ACTIVE if "other" in allow else PluginStatus.NOT_LOADED
    assert kitchen_site.statuses(pm) == {"kitchen": PluginStatus.ACTIVE, "other": expected_other}


def test_disable_list_blocks_a_plugin(kitchen_site, monkeypatch):
    monkeypatch.setenv("XPM_DISABLE_PLUGINS", "kitchen")
    pm = make_plugin_manager()
    assert kitchen_site.statuses(pm) == {"kitchen": PluginStatus.DISABLED}
    assert pm.is_blocked("kitchen")


def test_disable_wins_over_allow(kitchen_site, monkeypatch):
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "kitchen")
    monkeypatch.setenv("XPM_DISABLE_PLUGINS", "xpm-kitchen-sink")
    assert kitchen_site.statuses(make_plugin_manager()) == {"kitchen": PluginStatus.DISABLED}


def test_unknown_name_in_loading_controls_warns(kitchen_site, monkeypatch):
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "kitchen,slurmm")
    with pytest.warns(PluginLoadWarning, match=r"XPM_LOAD_PLUGINS names 'slurmm'.*installed: .*kitchen"):
        make_plugin_manager()


def test_broken_plugin_is_skipped_with_one_warning(kitchen_site):
    kitchen_site.install("xpm-broken", {"broken": "broken_plugin.plugin"}, BROKEN_PLUGIN)
    with pytest.warns(PluginLoadWarning) as caught:
        pm = make_plugin_manager()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert messages == [
        "plugin xpm-broken (broken) was not loaded: "
        "ModuleNotFoundError: No module named 'not_a_real_module_xyz'"
    ]
    assert kitchen_site.statuses(pm) == {"broken": PluginStatus.FAILED, "kitchen": PluginStatus.ACTIVE}


def test_broken_plugin_leaves_the_cli_working(kitchen_site):
    kitchen_site.install("xpm-broken", {"broken": "broken_plugin.plugin"}, BROKEN_PLUGIN)
    result = kitchen_site.run_xpm("plugins", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "xpm: warning: plugin xpm-broken (broken) was not loaded: "
        "ModuleNotFoundError: No module named 'not_a_real_module_xyz'"
    ]
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["xpm-broken"]["status"] == "failed"
    assert "not_a_real_module_xyz" in rows["xpm-broken"]["error"]
    assert rows["xpm-kitchen-sink"]["status"] == "active"


def test_misspelled_hook_is_reported_with_a_suggestion(plugin_site):
    source = "from xpm_core import hookimpl\n\n@hookimpl\ndef xpm_launcher():\n    return []\n"
    plugin_site.install("xpm-typo", {"typo": "typo_plugin.plugin"},
                        {"typo_plugin/__init__.py": "", "typo_plugin/plugin.py": source})
    with pytest.warns(PluginLoadWarning, match=r"unknown hook 'xpm_launcher' \(did you mean 'xpm_launchers'\?\)"):
        pm = make_plugin_manager()
    assert plugin_site.statuses(pm) == {"typo": PluginStatus.FAILED}
    assert pm.get_plugin("typo") is None
    pm.check_pending()


def test_hook_with_wrong_arguments_is_reported(plugin_site):
    source = "from xpm_core import hookimpl\n\n@hookimpl\ndef xpm_connector_for_url(address):\n    return None\n"
    plugin_site.install("xpm-args", {"args": "args_plugin.plugin"},
                        {"args_plugin/__init__.py": "", "args_plugin/plugin.py": source})
    with pytest.warns(PluginLoadWarning, match=r"plugin xpm-args \(args\) was not loaded: invalid hook implementation.*address"):
        pm = make_plugin_manager()
    assert plugin_site.statuses(pm) == {"args": PluginStatus.FAILED}


def test_entry_points_can_be_skipped_entirely(kitchen_site):
    pm = make_plugin_manager(load_entrypoints=False)
    assert all(record.builtin for record in pm.records.values())


def test_installed_plugins_are_found_again_whenever_a_distribution_changes(kitchen_site, tmp_path):
    """The entry points are cached between processes; installing, changing or removing a
    distribution is seen by the next command, and a damaged cache is only read again."""
    cache = tmp_path / "cache"

    def listed() -> set[str]:
        result = kitchen_site.run_xpm("plugins", "--json", XDG_CACHE_HOME=str(cache))
        assert result.returncode == 0, result.stderr
        return {row["entry_point"] for row in kitchen_site.only_mine(json.loads(result.stdout))}

    assert listed() == {"kitchen = kitchen_sink.plugin"}
    [cached] = (cache / "xpm").glob("entry-points-*.json")
    assert "kitchen_sink.plugin" in cached.read_text()

    kitchen_site.install("xpm-other", {"other": "other_plugin.plugin"},
                         {"other_plugin/__init__.py": "", "other_plugin/plugin.py": ""})
    assert listed() == {"kitchen = kitchen_sink.plugin", "other = other_plugin.plugin"}

    kitchen_site.install("xpm-other", {"renamed": "other_plugin.plugin"})  # entry_points.txt rewritten
    assert listed() == {"kitchen = kitchen_sink.plugin", "renamed = other_plugin.plugin"}

    for info in kitchen_site.path.glob("xpm_other-*.dist-info"):
        for path in info.iterdir():
            path.unlink()
        info.rmdir()
    cached.write_text("{not json")
    assert listed() == {"kitchen = kitchen_sink.plugin"}
