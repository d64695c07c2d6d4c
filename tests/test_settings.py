"""settings.yaml: schema, ${env:VAR} interpolation, clear errors, and workspace selection."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from xpm_core.settings.settings_file import (
    Settings,
    SettingsError,
    UnknownWorkspaceError,
    WorkspaceSettings,
    load_settings,
    settings_path,
)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    monkeypatch.setenv("XPM_CONFIG_DIR", str(directory))
    return directory


def write(config_dir: Path, text: str) -> Path:
    path = config_dir / "settings.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(config_dir: Path, text: str) -> str:
    write(config_dir, text)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    return str(raised.value)


def test_the_config_directory_comes_from_the_environment(config_dir):
    assert settings_path() == config_dir / "settings.yaml"


def test_default_location_is_under_the_home_config(monkeypatch, tmp_path):
    monkeypatch.delenv("XPM_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings_path() == tmp_path / ".config" / "xpm" / "settings.yaml"


def test_a_missing_file_gives_the_defaults(config_dir):
    settings = load_settings()
    assert settings == Settings()
    assert settings.workspaces == [] and settings.env == {}


def test_an_empty_file_gives_the_defaults(config_dir):
    write(config_dir, "# nothing yet\n")
    assert load_settings().workspaces == []


def test_a_full_file(config_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCRATCH", "/scratch/me")
    monkeypatch.setenv("PORT", "8888")
    path = write(config_dir, """
        env:
          OMP_NUM_THREADS: 4
          RATIO: 0.5
          TOKEN: ${env:PORT}
        workspaces:
          - id: main
            path: ~/experiments
            env: {CUDA_VISIBLE_DEVICES: 0}
            triggers: ["grid-*", "ablation-?"]
          - id: scratch
            path: ${oc.env:SCRATCH}/xpm
            max_retries: 0
          - id: local
            path: relative/ws
            env: {UNSET: "${env:XPM_SURELY_UNSET_VARIABLE}", DOTTED: "${env.PORT}"}
    """)
    settings = load_settings()
    assert settings.source == path
    assert settings.env == {"OMP_NUM_THREADS": "4", "RATIO": "0.5", "TOKEN": "8888"}
    main, scratch, local = settings.workspaces
    assert main == WorkspaceSettings(id="main", path=tmp_path / "home" / "experiments",
                                     env={"CUDA_VISIBLE_DEVICES": "0"}, triggers=["grid-*", "ablation-?"],
                                     max_retries=3)
    assert (scratch.path, scratch.max_retries, scratch.triggers) == (Path("/scratch/me/xpm"), 0, [])
    # relative to the settings file; unknown variables are left verbatim
    assert local.path == config_dir / "relative" / "ws"
    assert local.env == {"UNSET": "${env:XPM_SURELY_UNSET_VARIABLE}", "DOTTED": "8888"}


def test_yaml_syntax_errors_give_file_line_and_column(config_dir):
    message = error_of(config_dir, """\
        workspaces:
          - id: main
            path: /a
           bad: : x
    """)
    assert message.startswith(f"{config_dir / 'settings.yaml'}:4:4: YAML syntax error: ")


def test_unknown_keys_are_named_with_their_location_and_the_valid_keys(config_dir):
    message = error_of(config_dir, """
        workspaces:
          - id: a
            path: /a
          - id: b
            path: /b
            pathh: /c
        colour: {port: 1}
    """)
    # One line (docs/settings.md): every problem, separated by "; ".
    assert message == f"{config_dir / 'settings.yaml'}: invalid settings: " + "; ".join([
        "workspaces[1].pathh: unknown key (did you mean 'path'?)",
        "colour: unknown key; valid keys: workspaces, env, launchers, connectors, history, server, driver_log_days",
    ])


def test_wrong_types_name_the_expected_type(config_dir):
    message = error_of(config_dir, """
        workspaces:
          - id: 3
            path: [1]
            triggers: "grid-*"
            max_retries: "3"
            env: {A: [1], B: true}
          - 42
          - path: /no-id
        env: 3
    """)
    assert message.split(": invalid settings: ", 1)[1] == "; ".join([
        "workspaces[0].id: expected a string, found a number (3)",
        "workspaces[0].path: expected a string, found a list",
        "workspaces[0].env: A: expected a string or a number, found a list; "
        "B: expected a string or a number, found a boolean (True)",
        "workspaces[0].triggers: expected a list of strings, found a string ('grid-*')",
        "workspaces[0].max_retries: expected an integer, found a string ('3')",
        "workspaces[1]: expected a workspace (a mapping with keys id, path, env, triggers, max_retries, lock_mode, "
        "history), "
        "found a number (42)",
        "workspaces[2].id: missing: this key is required",
        "env: expected a mapping of variable names to values, found a number (3)",
    ])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", "the settings must be a mapping (keys: workspaces, env, launchers, connectors, history, server, driver_log_days), "
         "found a list"),
        ("workspaces: {id: a}\n", "workspaces: expected a list of workspaces, found a mapping"),
        ("workspaces: [{id: a, path: /a, max_retries: -1}]\n",
         "workspaces[0].max_retries: expected 0 or more, found -1"),
        ("workspaces: [{id: a, path: /a}, {id: a, path: /b}]\n",
         "workspaces[1].id: 'a' is already the id of workspaces[0]; workspace ids must be unique"),
    ],
)
def test_other_malformed_files(config_dir, text, expected):
    assert expected in error_of(config_dir, text)


# -- workspace selection -----------------------------------------------------------------------


@pytest.fixture
def settings(config_dir) -> Settings:
    write(config_dir, """
        workspaces:
          - id: default
            path: /ws/default
          - id: grids
            path: /ws/grids
            triggers: ["grid-*"]
          - id: ablations
            path: /ws/ablations
            triggers: ["abl-*", "grid-special"]
    """)
    return load_settings()


def test_an_explicit_id_wins(settings):
    assert settings.find_workspace("ablations", experiment_id="grid-1").id == "ablations"


def test_an_explicit_id_with_a_path_takes_the_path(settings, tmp_path):
    chosen = settings.find_workspace("grids", path=tmp_path / "elsewhere", experiment_id="abl-1")
    assert (chosen.id, chosen.path, chosen.triggers) == ("grids", tmp_path / "elsewhere", ["grid-*"])


def test_an_explicit_path_comes_next(settings, tmp_path):
    assert settings.find_workspace(path="/ws/grids/", experiment_id="abl-1").id == "grids"
    unknown = settings.find_workspace(path=tmp_path / "new", experiment_id="abl-1")
    assert (unknown.path, unknown.env, unknown.max_retries) == (tmp_path / "new", {}, 3)


def test_triggers_then_the_first_workspace(settings):
    assert settings.find_workspace(experiment_id="grid-1").id == "grids"
    assert settings.find_workspace(experiment_id="grid-special").id == "grids"  # the first match
    assert settings.find_workspace(experiment_id="abl-3").id == "ablations"
    assert settings.find_workspace(experiment_id="other").id == "default"
    assert settings.find_workspace().id == "default"


def test_an_unknown_id_lists_the_known_ones(settings, config_dir):
    with pytest.raises(UnknownWorkspaceError) as raised:
        settings.find_workspace("gird")
    assert str(raised.value).startswith(
        f"no workspace 'gird' in {config_dir / 'settings.yaml'} (known workspaces: default, grids, ablations)"
    )


def test_no_workspace_at_all_is_a_clear_error(config_dir):
    with pytest.raises(UnknownWorkspaceError, match="no workspace given and none configured in .*settings.yaml"):
        load_settings().find_workspace(experiment_id="xp")
