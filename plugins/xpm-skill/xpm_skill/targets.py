"""Where the skill can be installed: one target per family of coding assistants, and its folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs

from xpm_skill.source import SKILL_NAME


class NotInRepositoryError(Exception):
    """``--project`` was asked for outside a repository."""


@attrs.frozen
class Target:
    """A family of assistants reading skills from ``<base>/<folder>/skills/``."""

    name: str
    #: The folder under the home folder (or the repository) holding ``skills/``.
    folder: str
    #: The tool (or family of tools) reading it, as ``--list`` names it.
    tool: str
    #: Which assistants read it.
    description: str
    #: Commands whose presence on PATH shows the tool is installed.
    commands: tuple[str, ...] = ()

    def skill_dir(self, base: Path) -> Path:
        """The folder the skill is installed in, under ``base`` (home folder or repository)."""
        return base / self.folder / "skills" / SKILL_NAME

    def detected(self, home: Path) -> bool:
        """Whether one of the target's tools seems installed: its command, or its folder in use.

        The folder counts only for what is in it besides this skill, which installing it creates.
        """
        if any(shutil.which(command) for command in self.commands):
            return True
        folder = home / self.folder
        try:
            others = [entry for entry in folder.iterdir() if entry.name != "skills"]
            skills = folder / "skills"
            others += [entry for entry in skills.iterdir() if entry.name != SKILL_NAME] if skills.is_dir() else []
        except OSError:  # missing, or not a folder
            return False
        return bool(others)


#: The targets, in the order ``--list`` shows them; the first is the default.
TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target(
            "agents",
            ".agents",
            "Agent Skills tools",
            "the open Agent Skills standard: Gemini CLI, Codex, Copilot, ...",
            ("gemini", "codex", "opencode"),
        ),
        Target("claude", ".claude", "Claude Code", "Claude Code", ("claude",)),
        Target("cursor", ".cursor", "Cursor", "Cursor", ("cursor", "cursor-agent")),
    )
}
DEFAULT_TARGET = "agents"


def repository_root(start: Path) -> Path:
    """The root of the repository holding ``start`` (the nearest folder with a ``.git``)."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    raise NotInRepositoryError(
        f"{start} is not inside a git repository: --project installs into the repository's "
        ".agents/, .claude/ or .cursor/ folder; run it from inside your project's repository "
        "(or drop --project to install in your home folder)"
    )
