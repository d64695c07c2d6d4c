"""The ``xpm`` command line: version, help, plugin commands and ``xpm plugins``."""

from __future__ import annotations

import json
import re

import pytest

from xpm_core import __version__

JSON_KEYS = ["builtin", "distribution", "entry_point", "error", "hooks", "name", "provides", "status", "version"]


def test_version(plugin_site):
    result = plugin_site.run_xpm("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"xpm, version {__version__}"


def test_help_lists_plugin_commands_with_their_summary(kitchen_site):
    result = kitchen_site.run_xpm("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1]
    assert re.search(r"\n  kitchen +Kitchen tools\n", commands)
    assert re.search(r"\n  plugins +List installed plugins and what they provide.\n", commands)


def test_plugin_command_runs(kitchen_site):
    result = kitchen_site.run_xpm("kitchen", "wash", "dishes")
    assert (result.returncode, result.stdout) == (0, "washed dishes\n")


def test_unknown_command_is_a_usage_error(kitchen_site):
    result = kitchen_site.run_xpm("cook")
    assert result.returncode == 2
    assert "No such command 'cook'" in result.stderr


def test_command_that_fails_to_load_says_which_plugin(plugin_site):
    source = (
        "from xpm_core import hookimpl\nfrom xpm_core.plugin.components import CommandType\n\n"
        "@hookimpl\ndef xpm_commands():\n"
        "    yield CommandType(name='ghost', factory='ghost_plugin.missing:cmd', summary='Boo')\n"
    )
    plugin_site.install("xpm-ghost", {"ghost": "ghost_plugin.plugin"},
                        {"ghost_plugin/__init__.py": "", "ghost_plugin/plugin.py": source})
    assert re.search(r"\n  ghost +Boo\n", plugin_site.run_xpm("--help").stdout)
    result = plugin_site.run_xpm("ghost")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: the command 'ghost' from xpm-ghost (ghost) could not be loaded: "
        "ModuleNotFoundError: No module named 'ghost_plugin.missing'"
    )


def test_plugins_table(kitchen_site):
    result = kitchen_site.run_xpm("plugins")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    [row] = [line for line in rows if line.startswith("xpm-kitchen-sink ")]
    assert header.split() == ["Name", "Version", "Entry", "point", "Status", "Provides", "Hooks"]
    assert row.split()[:4] == ["xpm-kitchen-sink", "0.1.0", "kitchen", "active"]
    assert "launchers: kitchen" in row and "serializers: fraction" in row
    assert "xpm_connector_for_url" in row
    # columns are aligned: every field starts where its header does
    for title, value in (("Version", "0.1.0"), ("Status", "active"), ("Provides", "connectors:")):
        assert header.index(title) == row.index(value)


def test_plugins_json_has_stable_keys(kitchen_site):
    result = kitchen_site.run_xpm("plugins", "--json")
    rows = kitchen_site.only_mine(json.loads(result.stdout))
    assert [sorted(row) for row in rows] == [JSON_KEYS]
    assert rows[0]["name"] == "xpm-kitchen-sink"
    assert rows[0]["hooks"] == sorted(rows[0]["hooks"]) and len(rows[0]["hooks"]) == 10


def test_plugins_all_adds_builtins(kitchen_site):
    rows = json.loads(kitchen_site.run_xpm("plugins", "--json", "--all").stdout)
    builtin = [row["name"] for row in rows if row["builtin"]]
    assert "xpm_core.builtin.commands.plugin" in builtin
    assert all(row["distribution"] == "xpm-core" for row in rows if row["builtin"])
    flags = [row["builtin"] for row in rows]
    assert flags == sorted(flags)  # third-party plugins first, then the built-ins


def test_plugins_filtered_by_hook(kitchen_site):
    rows = json.loads(kitchen_site.run_xpm("plugins", "--json", "--all", "--hook", "xpm_connector_for_url").stdout)
    assert all("xpm_connector_for_url" in row["hooks"] for row in rows)
    assert {"xpm-kitchen-sink", "xpm_core.builtin.local.plugin"} <= {row["name"] for row in rows}
    assert "xpm_core.builtin.commands.plugin" not in {row["name"] for row in rows}


def test_plugins_rejects_an_unknown_hook(kitchen_site):
    result = kitchen_site.run_xpm("plugins", "--hook", "xpm_launcher")
    assert result.returncode == 2
    assert "'xpm_launcher' is not one of" in result.stderr


def test_empty_allow_list_lists_no_third_party_plugin(kitchen_site):
    result = kitchen_site.run_xpm("plugins", "--json", XPM_LOAD_PLUGINS="")
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")
    table = kitchen_site.run_xpm("plugins", XPM_LOAD_PLUGINS="")
    assert table.stdout == "No plugins loaded.\n"
    assert "Not loaded because of XPM_LOAD_PLUGINS: " in table.stderr and "kitchen" in table.stderr
    assert "kitchen" not in kitchen_site.run_xpm("--help", XPM_LOAD_PLUGINS="").stdout.split("Commands:")[1]


def test_disabled_plugin_is_listed_as_disabled(kitchen_site):
    rows = json.loads(kitchen_site.run_xpm("plugins", "--json", XPM_DISABLE_PLUGINS="kitchen").stdout)
    [row] = kitchen_site.only_mine(rows)
    assert (row["status"], row["provides"], row["hooks"]) == ("disabled", {}, [])


def test_no_plugins_message(plugin_site):
    from importlib.metadata import entry_points

    if entry_points(group="xpm"):
        pytest.skip("plugins are installed in this environment")
    result = plugin_site.run_xpm("plugins")
    assert result.stdout.startswith("No plugins installed")


def test_in_process_cli_fixture(kitchen_site, xpm_cli):
    result = xpm_cli("kitchen", "wash", "pans")
    assert result.output == "washed pans\n"
