"""The skill works from installed wheels: build xpm-core and xpm-skill, install them in a fresh venv, run it.

experimaestro 2.7.0's installer failed from its wheel (the skill was not packaged); this test
builds the real wheels once per session and runs ``xpm install-skill`` from a virtual
environment holding nothing else, so the skill's files can only come from the wheel.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from xpm_skill.source import PLUGIN_SECTIONS_MARKER, packaged_files

PLUGIN = Path(__file__).resolve().parents[1]
REPOSITORY = PLUGIN.parents[1]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    # With the build backend at hand (requirements-dev.txt), skip pip's isolated build
    # environments: building then takes seconds instead of half a minute.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation, "--wheel-dir", str(out)]
        + [str(REPOSITORY), str(PLUGIN)]
    )
    found = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    assert set(found) == {"xpm_core", "xpm_skill"}, found
    return found


@pytest.fixture(scope="session")
def fresh_env(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with only the two wheels (and the core's dependencies) installed."""
    folder = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(folder)  # this process's pip installs into it (faster)
    python = folder / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + [str(wheels["xpm_core"]), str(wheels["xpm_skill"])]
    )
    return folder


def test_the_wheel_holds_the_skill(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels["xpm_skill"]) as wheel:
        names = set(wheel.namelist())
    for relative in packaged_files():
        assert f"xpm_skill/skill/{relative}" in names


def test_install_skill_from_a_fresh_environment(fresh_env: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    # Run from a folder outside the checkout, with nothing of it on the path.
    env = {"HOME": str(home), "PATH": f"{fresh_env / 'bin'}:/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8")}
    xpm = str(fresh_env / "bin" / "xpm")
    where = _run([str(fresh_env / "bin" / "python"), "-c", "import xpm_skill; print(xpm_skill.__file__)"], env=env, cwd=work)
    assert str(fresh_env) in where.stdout and str(REPOSITORY) not in where.stdout

    before = _run([xpm, "install-skill", "--list"], env=env, cwd=work).stdout
    assert before.count("not installed") == 3
    _run([xpm, "install-skill", "agents", "claude"], env=env, cwd=work)
    after = _run([xpm, "install-skill", "--list"], env=env, cwd=work).stdout
    assert after.count("installed, current") == 2 and after.count("not installed") == 1

    folder = home / ".claude" / "skills" / "xpm"
    installed = {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in folder.rglob("*.md")
    }
    expected = packaged_files()
    assert set(installed) == set(expected)  # no plugin adds a section in this environment
    for relative, text in expected.items():
        if relative != "SKILL.md":
            assert installed[relative] == text
    assert installed["SKILL.md"] == expected["SKILL.md"].replace(
        PLUGIN_SECTIONS_MARKER, "No installed plugin adds a section."
    )
