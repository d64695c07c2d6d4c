"""experimaestro's settings.yaml read as it is: the fallback file, its keys, history, and lock_mode on real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xpm_core.settings.settings_file import HistorySettings, SettingsError, load_settings

#: An experimaestro 2.7.0 settings file using every key of its schema (reference §3.6).
EXPERIMAESTRO_SETTINGS = """
server: {port: 12346, host: localhost, autohost: fqdn, token: from-settings}
env: {OMP_NUM_THREADS: 4}
history: {max_done: 3, max_failed: 2}
carbon: {enabled: true, provider: codecarbon, country_iso_code: null, region: null,
         report_interval_s: 60.0, warn_if_unavailable: true}
workspaces:
  - id: main
    path: {main}
    env: {CUDA_VISIBLE_DEVICES: 0}
    triggers: ["grid-*"]
    max_retries: 2
    lock_mode: "0664"
    folders: [{path: /archive, mode: use}]
    alt_workspaces: [old]
  - id: cluster
    path: {cluster}
    history: {max_done: 10}
    lock_mode: umask
    ssh: {host: login.example.org, shell_init: "module load python", uv_offline: false, options: []}
"""


def home_with(tmp_path: Path, *, experimaestro: str | None = None, xpm: str | None = None) -> dict[str, str]:
    """An environment whose HOME holds the given settings files (and no XPM_CONFIG_DIR)."""
    home = tmp_path / "home"
    for tool, text in (("experimaestro", experimaestro), ("xpm", xpm)):
        if text is not None:
            (home / ".config" / tool).mkdir(parents=True, exist_ok=True)
            (home / ".config" / tool / "settings.yaml").write_text(textwrap.dedent(text))
    env = {**os.environ, "HOME": str(home), "XPM_LOAD_PLUGINS": ""}
    env.pop("XPM_CONFIG_DIR", None)
    env.pop("XPM_LOCK_MODE", None)
    return env


def xpm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpm_core", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def experimaestro_settings(tmp_path: Path) -> str:
    return EXPERIMAESTRO_SETTINGS.replace("{main}", str(tmp_path / "main")).replace("{cluster}", str(tmp_path / "c"))


# ---- which file ---------------------------------------------------------------------------------


def test_experimaestros_file_is_read_when_xpm_has_none_with_a_note(tmp_path):
    env = home_with(tmp_path, experimaestro=experimaestro_settings(tmp_path))
    result = xpm(env, "workspaces", "list", "-v")
    assert result.returncode == 0, result.stderr
    fallback = tmp_path / "home" / ".config" / "experimaestro" / "settings.yaml"
    assert f"Workspaces of {fallback}:" in result.stdout
    assert f"main (default): {tmp_path / 'main'}" in result.stdout
    note = [line for line in result.stderr.splitlines() if line.startswith("xpm: note:")]
    assert note == [f"xpm: note: no {tmp_path / 'home' / '.config' / 'xpm' / 'settings.yaml'}; "
                    f"reading experimaestro's settings {fallback}"]


def test_xpms_own_file_wins_and_an_explicit_config_dir_never_falls_back(tmp_path):
    env = home_with(tmp_path, experimaestro=experimaestro_settings(tmp_path),
                    xpm=f"workspaces: [{{id: own, path: {tmp_path / 'own'}}}]\n")
    own = xpm(env, "workspaces", "list")
    assert "own (default)" in own.stdout and "main" not in own.stdout and "note" not in own.stderr
    (tmp_path / "empty").mkdir()
    explicit = xpm({**env, "XPM_CONFIG_DIR": str(tmp_path / "empty")}, "workspaces", "list")
    assert explicit.stdout.startswith("No workspace configured") and "experimaestro" not in explicit.stderr


# ---- what is read ---------------------------------------------------------------------------------


def test_an_experimaestro_file_reads_as_it_is_with_a_warning_per_ignored_key(tmp_path):
    env = home_with(tmp_path, experimaestro=experimaestro_settings(tmp_path))
    result = xpm(env, "workspaces", "list", "-v")
    assert result.returncode == 0, result.stderr
    source = tmp_path / "home" / ".config" / "experimaestro" / "settings.yaml"
    warnings = sorted(line for line in result.stderr.splitlines() if line.startswith("xpm: warning:"))
    assert [line.split(": ignored; ")[0] for line in warnings] == [
        f"xpm: warning: {source}: {key}"
        for key in ("carbon", "server.autohost", "workspaces[0].alt_workspaces", "workspaces[0].folders",
                    "workspaces[1].ssh")
    ]
    assert "  lock mode: 0664" in result.stdout and "  lock mode: umask" in result.stdout
    assert "  history: keeps 3 done and 2 failed runs per experiment" in result.stdout  # the top-level one
    assert "  history: keeps 10 done and 1 failed runs per experiment" in result.stdout  # its own


def test_the_values_of_an_experimaestro_file(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(experimaestro_settings(tmp_path))
    settings = load_settings(path)
    assert (settings.server.port, settings.server.host, settings.server.token) == (12346, "localhost", "from-settings")
    assert settings.history == HistorySettings(max_done=3, max_failed=2)
    main, cluster = settings.workspaces
    assert (main.lock_mode, main.history, main.max_retries) == ("0664", settings.history, 2)
    assert (cluster.lock_mode, cluster.history) == ("umask", HistorySettings(max_done=10, max_failed=1))
    # A workspace given by path only takes the top-level history too.
    assert settings.find_workspace(path=tmp_path / "elsewhere").history == settings.history
    assert HistorySettings() == HistorySettings(max_done=5, max_failed=1)  # experimaestro's defaults


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("servr: {port: 1}\n", "servr: unknown key (did you mean 'server'?)"),
        ("history: {max_done: -1}\n", "history.max_done: expected 0 or more, found -1"),
        ("history: {max_kept: 3}\n", "history.max_kept: unknown key (did you mean 'max_done'?)"),
        ("server: {port: web}\n", "server.port: expected an integer, found a string ('web')"),
        ("server: {port: 70000}\n", "server.port: expected a port from 0 (any free port) to 65535, found 70000"),
        ("workspaces: [{id: a, path: /a, lock_mode: group}]\n",
         "workspaces[0].lock_mode: expected inherit, umask or an octal mode such as \"0664\", found 'group'"),
        ("workspaces: [{id: a, path: /a, lock_mode: \"0999\"}]\n", "workspaces[0].lock_mode: expected inherit"),
    ],
)
def test_xpms_own_checks_stay_strict(tmp_path, text, problem):
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    assert problem in str(raised.value)


def test_an_unquoted_octal_lock_mode_is_the_mode_yaml_read(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("workspaces: [{id: a, path: /a, lock_mode: 0660}]\n")  # YAML 1.1: the octal number 0o660
    assert load_settings(path).workspaces[0].lock_mode == "0660"


# ---- lock_mode on real files ------------------------------------------------------------------------

PLAN = '''
import sys
from pathlib import Path
from xpm_core import Task, Param, cache, experiment, setmeta
from xpm_core.settings.settings_file import load_settings


class Cached(Task):
    x: Param[int]

    @cache("value.txt")
    def compute(self, path: Path):
        path.write_text(str(self.x))

    def execute(self):
        self.compute()


if __name__ == "__main__":
    workspace = load_settings().workspace("shared") if sys.argv[1] == "settings" else sys.argv[2]
    with experiment(workspace, "locks") as xp:
        Cached.C(x=1).submit()
    assert [job.state.value for job in xp.jobs.values()] == ["done"], xp.jobs
'''


def lock_modes(workspace: Path) -> dict[str, int]:
    """The permissions of every lock file of the workspace, by kind."""
    found = {
        "experiment": workspace / "experiments" / "locks" / "lock",
        "job (driver)": next(workspace.glob("jobs/*/*/*.lock")),
        "cache (job process)": next(workspace.glob("config/**/value.txt.lock")),
        "index": workspace / ".xpm" / "index.db.lock",
    }
    return {kind: stat.S_IMODE(path.stat().st_mode) for kind, path in found.items()}


def run_plan(tmp_path: Path, *args: str, settings: str = "", **env: str) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "settings.yaml").write_text(settings)
    (tmp_path / "plan.py").write_text(PLAN)
    environment = {**os.environ, "XPM_CONFIG_DIR": str(tmp_path / "config"), "PYTHONPATH": str(tmp_path), **env}
    if "XPM_LOCK_MODE" not in env:
        environment.pop("XPM_LOCK_MODE", None)
    result = subprocess.run([sys.executable, "-m", "plan", *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env=environment, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A workspace folder shared by a group: group-writable, setgid."""
    workspace = tmp_path / "shared"
    workspace.mkdir()
    workspace.chmod(0o2775)
    return workspace


def test_by_default_lock_files_inherit_the_workspace_permissions(tmp_path, shared):
    run_plan(tmp_path, "path", str(shared))
    # Group-writable although the umask (022) would have made them 0644.
    assert lock_modes(shared) == {"experiment": 0o664, "job (driver)": 0o664, "cache (job process)": 0o664,
                                  "index": 0o664}


def test_lock_mode_of_the_settings_and_the_environment_override(tmp_path, shared):
    settings = f"workspaces: [{{id: shared, path: {shared}, lock_mode: umask}}]\n"
    run_plan(tmp_path, "settings", settings=settings)
    assert set(lock_modes(shared).values()) == {0o644}  # the umask decides
    other = tmp_path / "other"
    other.mkdir()
    run_plan(tmp_path, "path", str(other), settings=f"workspaces: [{{id: o, path: {other}, lock_mode: \"0660\"}}]\n")
    assert set(lock_modes(other).values()) == {0o660}  # a configured workspace given by its path
    third = tmp_path / "third"
    run_plan(tmp_path, "path", str(third), settings=f"workspaces: [{{id: t, path: {third}, lock_mode: umask}}]\n",
             XPM_LOCK_MODE="0600")
    assert set(lock_modes(third).values()) == {0o600}  # XPM_LOCK_MODE wins


def test_a_wrong_xpm_lock_mode_is_a_clear_error(tmp_path):
    (tmp_path / "plan.py").write_text(PLAN)
    environment = {**os.environ, "XPM_CONFIG_DIR": str(tmp_path), "PYTHONPATH": str(tmp_path), "XPM_LOCK_MODE": "all"}
    result = subprocess.run([sys.executable, "-m", "plan", "path", str(tmp_path / "ws")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 1
    assert "ValueError: XPM_LOCK_MODE='all': expected inherit, umask or an octal mode" in result.stderr


def test_settings_of_the_workspace_an_experiment_is_given(tmp_path, monkeypatch):
    from xpm_core.settings.settings_file import WorkspaceSettings, settings_of_workspace

    monkeypatch.setenv("XPM_CONFIG_DIR", str(tmp_path))
    alone = settings_of_workspace(tmp_path / "ws")  # no settings file: the defaults
    assert (alone.path, alone.history, alone.lock_mode) == (tmp_path / "ws", HistorySettings(), None)
    (tmp_path / "settings.yaml").write_text(experimaestro_settings(tmp_path))
    assert settings_of_workspace(str(tmp_path / "main")).id == "main"  # configured: found by its path
    assert settings_of_workspace(tmp_path / "ws").history == HistorySettings(max_done=3, max_failed=2)
    given = WorkspaceSettings(id="x", path=tmp_path)
    assert settings_of_workspace(given) is given
