"""``xpm install-skill`` on a temporary home folder: every target, --list, updates, edits, removal, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xpm_core.testing import PluginPackageContract
from xpm_skill.installer import MANIFEST
from xpm_skill.source import build_skill

FOLDERS = {"agents": ".agents", "claude": ".claude", "cursor": ".cursor"}


class TestSkillPackage(PluginPackageContract):
    distribution = "xpm-skill"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    # No tool of the machine may count as "detected" in these tests.
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.fixture
def cli(xpm_cli, home):
    return xpm_cli


def skill_dir(base: Path, target: str) -> Path:
    return base / FOLDERS[target] / "skills" / "xpm"


def installed_files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in folder.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }


def list_rows(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines()[1:]}


def test_default_target_is_agents(cli, home: Path) -> None:
    result = cli("install-skill")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"agents: installed the xpm skill in ~/.agents/skills/xpm ({len(build_skill().files)} files)\n"
    assert installed_files(skill_dir(home, "agents")) == build_skill().files
    assert not (home / ".claude").exists() and not (home / ".cursor").exists()


@pytest.mark.parametrize("target", sorted(FOLDERS))
def test_each_target(cli, home: Path, target: str) -> None:
    result = cli("install-skill", target)
    assert result.exit_code == 0, result.output
    folder = skill_dir(home, target)
    assert installed_files(folder) == build_skill().files
    text = (folder / "SKILL.md").read_text()
    assert text.startswith("---\nname: xpm\ndescription: ")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(build_skill().files)


def test_several_targets_at_once(cli, home: Path) -> None:
    result = cli("install-skill", "agents", "claude", "cursor")
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["agents", "claude", "cursor"]
    for target in FOLDERS:
        assert (skill_dir(home, target) / "SKILL.md").is_file()


def test_list_before_and_after(cli, home: Path) -> None:
    before = cli("install-skill", "--list")
    assert before.exit_code == 0
    rows = list_rows(before.stdout)
    assert sorted(rows) == ["agents", "claude", "cursor"]
    for target, row in rows.items():
        assert f"~/{FOLDERS[target]}/skills/xpm" in row
        assert row.endswith("not installed") and "not found" in row
    cli("install-skill", "claude", "agents")
    rows = list_rows(cli("install-skill", "--list").stdout)
    assert rows["claude"].endswith("installed, current") and rows["agents"].endswith("installed, current")
    # The skill alone, which the installer created, does not make a tool "detected".
    assert "Claude Code: not found" in rows["claude"] and "Agent Skills tools: not found" in rows["agents"]
    (home / ".cursor").mkdir()
    (home / ".cursor" / "settings.json").write_text("{}")  # Cursor's folder, in use
    tools = Path(os.environ["PATH"])
    tools.mkdir()
    (tools / "claude").write_text("#!/bin/sh\n")  # the claude command on PATH
    (tools / "claude").chmod(0o755)
    rows = list_rows(cli("install-skill", "--list").stdout)
    assert "Claude Code: detected" in rows["claude"]
    assert "Cursor: detected" in rows["cursor"] and rows["cursor"].endswith("not installed")
    assert "Agent Skills tools: not found" in rows["agents"]


def test_reinstall_updates_an_outdated_skill(cli, home: Path) -> None:
    cli("install-skill", "claude")
    folder = skill_dir(home, "claude")
    manifest_path = folder / MANIFEST
    # Pretend an older version installed a different file and a file this version no longer has.
    old_text = "# old version\n"
    (folder / "references" / "jobs.md").write_text(old_text)
    (folder / "references" / "gone.md").write_text("obsolete\n")
    manifest = json.loads(manifest_path.read_text())
    from xpm_skill.installer import digest

    manifest["files"]["references/jobs.md"] = digest(old_text)
    manifest["files"]["references/gone.md"] = digest("obsolete\n")
    manifest["version"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest))
    assert list_rows(cli("install-skill", "--list").stdout)["claude"].endswith("installed, outdated (written by xpm-skill 0.0.1)")

    result = cli("install-skill", "claude")
    assert result.exit_code == 0, result.output
    assert result.stdout == "claude: updated the xpm skill in ~/.claude/skills/xpm (1 file written, 1 file removed)\n"
    assert installed_files(folder) == build_skill().files
    assert list_rows(cli("install-skill", "--list").stdout)["claude"].endswith("installed, current")
    again = cli("install-skill", "claude")
    assert again.stdout == "claude: the xpm skill in ~/.claude/skills/xpm is already current\n"


def test_an_edited_file_is_kept_unless_forced(cli, home: Path) -> None:
    cli("install-skill", "claude")
    folder = skill_dir(home, "claude")
    edited = (folder / "SKILL.md").read_text() + "\nMy own notes.\n"
    (folder / "SKILL.md").write_text(edited)
    assert list_rows(cli("install-skill", "--list").stdout)["claude"].endswith("installed, edited (SKILL.md)")

    result = cli("install-skill", "claude")
    assert result.exit_code == 0
    assert (folder / "SKILL.md").read_text() == edited
    assert "kept ~/.claude/skills/xpm/SKILL.md: you edited it, so it was not overwritten" in result.stderr
    assert "xpm install-skill --force claude" in result.stderr
    # Still seen as edited on the next run: the installed hash is kept in the manifest.
    assert "kept" in cli("install-skill", "claude").stderr

    forced = cli("install-skill", "--force", "claude")
    assert forced.exit_code == 0 and not forced.stderr
    assert (folder / "SKILL.md").read_text() == build_skill().files["SKILL.md"]


def test_files_that_were_there_before_are_not_overwritten(cli, home: Path) -> None:
    folder = skill_dir(home, "agents")
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: xpm\ndescription: someone else's skill\n---\n")
    assert list_rows(cli("install-skill", "--list").stdout)["agents"].endswith(
        "not installed (the folder holds other files)"
    )
    result = cli("install-skill")
    assert "kept ~/.agents/skills/xpm/SKILL.md" in result.stderr
    assert "someone else's skill" in (folder / "SKILL.md").read_text()


def test_uninstall(cli, home: Path) -> None:
    cli("install-skill", "claude", "cursor")
    result = cli("install-skill", "--uninstall", "claude")
    assert result.exit_code == 0
    assert result.stdout == f"claude: removed the xpm skill from ~/.claude/skills/xpm ({len(build_skill().files)} files)\n"
    assert not skill_dir(home, "claude").exists()
    assert (home / ".claude" / "skills").is_dir()  # only the skill's own folder goes
    assert (skill_dir(home, "cursor") / "SKILL.md").is_file()
    again = cli("install-skill", "--uninstall", "claude")
    assert again.exit_code == 0 and again.stdout == "claude: the xpm skill is not installed in ~/.claude/skills/xpm\n"


def test_uninstall_keeps_edited_files_unless_forced(cli, home: Path) -> None:
    cli("install-skill", "cursor")
    folder = skill_dir(home, "cursor")
    (folder / "references" / "jobs.md").write_text("my notes\n")
    result = cli("install-skill", "--uninstall", "cursor")
    assert "kept ~/.cursor/skills/xpm/references/jobs.md: you edited it, so it was not removed" in result.stderr
    assert installed_files(folder) == {"references/jobs.md": "my notes\n"}
    assert list_rows(cli("install-skill", "--list").stdout)["cursor"].endswith("edited (references/jobs.md)")
    cli("install-skill", "--uninstall", "--force", "cursor")
    assert not folder.exists()


def test_unwritable_target_is_a_clear_error(cli, home: Path) -> None:
    (home / ".claude").mkdir()
    (home / ".claude" / "skills").write_text("a file where the skills folder should be\n")
    result = cli("install-skill", "claude", "cursor")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: claude: cannot install the skill in ")
    assert "check that this folder can be written" in result.stderr
    assert "Traceback" not in result.output
    # The other target is installed all the same.
    assert (skill_dir(home, "cursor") / "SKILL.md").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_target_is_a_clear_error(cli, home: Path) -> None:
    skills = home / ".claude" / "skills"
    skills.mkdir(parents=True)
    skills.chmod(0o500)
    try:
        result = cli("install-skill", "claude")
    finally:
        skills.chmod(0o700)
    assert result.exit_code == 1
    assert "Permission denied" in result.stderr and "Traceback" not in result.output


def test_project_installs_into_the_repository(cli, home: Path, tmp_path: Path, monkeypatch) -> None:
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(repository / "src" / "pkg")
    result = cli("install-skill", "--project", "claude", "agents")
    assert result.exit_code == 0, result.output
    assert f"installed the xpm skill in {repository}/.claude/skills/xpm" in result.stdout
    assert installed_files(skill_dir(repository, "claude")) == build_skill().files
    assert (skill_dir(repository, "agents") / "SKILL.md").is_file()
    assert not (home / ".claude").exists()
    rows = list_rows(cli("install-skill", "--project", "--list").stdout)
    assert rows["claude"].endswith("installed, current") and str(repository) in rows["claude"]
    assert rows["cursor"].endswith("not installed")
    cli("install-skill", "--project", "--uninstall", "claude")
    assert not skill_dir(repository, "claude").exists()


def test_project_outside_a_repository_is_a_clear_error(cli, home: Path, tmp_path: Path, monkeypatch) -> None:
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    result = cli("install-skill", "--project")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {outside} is not inside a git repository: --project installs into the repository's "
        ".agents/, .claude/ or .cursor/ folder; run it from inside your project's repository "
        "(or drop --project to install in your home folder)\n"
    )


def test_unknown_target(cli) -> None:
    result = cli("install-skill", "vscode")
    assert result.exit_code == 2
    assert "'vscode' is not one of 'agents', 'claude', 'cursor'" in result.stderr


def test_installed_skill_lists_plugin_sections(cli, home: Path) -> None:
    from xpm_core.plugin import get_registry

    cli("install-skill")
    folder = skill_dir(home, "agents")
    text = (folder / "SKILL.md").read_text()
    for name in get_registry().skill_sections():
        assert (folder / "references" / f"{name}.md").is_file()
        assert f"(references/{name}.md)" in text


def test_the_real_command(home: Path) -> None:
    """The console script in a child process, as a user runs it."""
    script = Path(sys.executable).parent / "xpm"
    result = subprocess.run(
        [str(script), "install-skill", "cursor"], env={**os.environ, "HOME": str(home)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (skill_dir(home, "cursor") / "SKILL.md").is_file()
