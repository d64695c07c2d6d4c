"""The skill's files: the packaged ones, plus one reference section per installed plugin that adds one."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from xpm_core.plugin import PluginRegistry

#: The skill's name (front matter ``name``) and the folder it is installed in.
SKILL_NAME = "xpm"
#: The line of the packaged SKILL.md replaced by the list of the plugins' sections.
PLUGIN_SECTIONS_MARKER = "<!-- xpm-skill: plugin sections -->"
REFERENCES = "references"


@attrs.frozen
class Skill:
    """The files of the skill as they are installed (relative POSIX path -> text)."""

    files: dict[str, str]
    #: Plugin sections that could not be included, one readable line each.
    problems: tuple[str, ...] = ()


def packaged_files() -> dict[str, str]:
    """The skill shipped inside the package (``xpm_skill/skill/``), read as package data."""
    files: dict[str, str] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda item: item.name):
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".md"):
                files[prefix + entry.name] = entry.read_text(encoding="utf-8")

    walk(resources.files("xpm_skill") / "skill", "")
    if "SKILL.md" not in files:
        raise FileNotFoundError(
            "the xpm skill is missing from the installed xpm-skill package (no SKILL.md in its "
            "package data): reinstall it with 'pip install --force-reinstall xpm-skill'"
        )
    return files


def section_text(factory_result: object) -> str:
    """The Markdown a section factory resolves to (a string, or a callable returning one)."""
    value = factory_result() if callable(factory_result) else factory_result
    if not isinstance(value, str):
        raise TypeError(f"expected Markdown text, got {type(value).__name__}")
    return value


def build_skill(registry: PluginRegistry | None = None) -> Skill:
    """The skill for this installation: the packaged files and the installed plugins' sections."""
    if registry is None:
        from xpm_core.plugin import get_registry

        registry = get_registry()
    files = packaged_files()
    problems: list[str] = []
    index: list[str] = []
    sections = registry.skill_sections()
    for name in sorted(sections):
        section = sections[name]
        provider = sections.provider(name)
        path = f"{REFERENCES}/{name}.md"
        if path in files:
            problems.append(f"{provider}: skill section {name!r} left out: the skill already has {path}")
            continue
        try:
            text = section_text(section.load())
        except Exception as exc:  # one broken plugin must not keep the skill from installing
            problems.append(f"{provider}: skill section {name!r} left out: {type(exc).__name__}: {exc}")
            continue
        files[path] = text if text.endswith("\n") else text + "\n"
        title = section.title or name
        summary = f": {section.summary}" if section.summary else ""
        # "xpm-slurm (slurm)" -> "xpm-slurm": the distribution is what the reader can install.
        index.append(f"- [{title}]({path}) (from {provider.split(' (')[0]}){summary}")
    listing = "\n".join(index) if index else "No installed plugin adds a section."
    files["SKILL.md"] = files["SKILL.md"].replace(PLUGIN_SECTIONS_MARKER, listing)
    return Skill(files=files, problems=tuple(problems))
