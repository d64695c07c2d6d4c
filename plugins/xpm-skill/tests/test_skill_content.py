"""The skill cannot drift from the code: its commands exist, its imports resolve, its examples run."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import skilldoc

from xpm_skill.source import PLUGIN_SECTIONS_MARKER, SKILL_NAME, build_skill, packaged_files

SKILL = build_skill()
DOCUMENTS = sorted(SKILL.files)
#: Longest a single example may take (each starts jobs in real processes).
BLOCK_TIMEOUT = 180


@pytest.fixture(scope="module")
def command_tree():
    from xpm_core import make_cli

    return make_cli()


def test_front_matter_and_size() -> None:
    text = SKILL.files["SKILL.md"]
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "SKILL.md must start with YAML front matter"
    import yaml

    front = yaml.safe_load(match.group(1))
    assert front["name"] == SKILL_NAME
    assert 50 < len(front["description"]) <= 1024  # the Agent Skills limit
    assert len(text.splitlines()) < 500, "SKILL.md must stay short: move details to references/"
    assert PLUGIN_SECTIONS_MARKER not in text


def test_every_reference_is_linked_and_every_link_exists() -> None:
    text = SKILL.files["SKILL.md"]
    linked = set(re.findall(r"\]\((references/[^)#]+)\)", text))
    references = {name for name in SKILL.files if name.startswith("references/")}
    assert linked == references
    for name, document in SKILL.files.items():
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", document):
            resolved = (Path(name).parent / target).as_posix()
            resolved = os.path.normpath(resolved)
            assert resolved in SKILL.files, f"{name} links to {target}, which the skill does not have"


def test_plugin_sections_are_listed() -> None:
    from xpm_core.plugin import get_registry

    sections = get_registry().skill_sections()
    assert not SKILL.problems
    for name in sections:
        assert f"references/{name}.md" in SKILL.files
        assert f"(references/{name}.md)" in SKILL.files["SKILL.md"]
    if not sections:
        assert "No installed plugin adds a section." in SKILL.files["SKILL.md"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_commands_and_options_exist(document: str, command_tree) -> None:
    text = SKILL.files[document]
    problems = []
    for arguments in skilldoc.invocations(text):
        problem = skilldoc.check_invocation(command_tree, arguments)
        if problem:
            problems.append(f"xpm {' '.join(arguments)}: {problem}")
    known = skilldoc.all_options(command_tree)
    for span in skilldoc.inline_code(text):
        first = span.split()[0].split("=")[0]
        if re.match(r"^--?[a-z]", first) and first not in known:
            problems.append(f"`{span}`: no xpm command has the option {first}")
    assert not problems, f"{document} mentions what xpm does not have:\n" + "\n".join(problems)


def test_the_checks_catch_what_does_not_exist(command_tree) -> None:
    """The command check is not vacuous: it rejects unknown commands and options."""
    assert skilldoc.check_invocation(command_tree, ["jobs", "list", "--filter", "x", "--tags"]) is None
    assert skilldoc.check_invocation(command_tree, ["jobs", "--workdir", "ws", "list", "-c", "3"]) is None
    assert "no command" in skilldoc.check_invocation(command_tree, ["jobs", "lists"])
    assert "no option --filters" in skilldoc.check_invocation(command_tree, ["jobs", "list", "--filters", "x"])
    text = "```bash\nXPM_DEBUG=1 xpm jobs list | head; echo $(xpm jobs path abc)\n```\n`xpm plugins --json`\n"
    assert list(skilldoc.invocations(text)) == [["jobs", "list"], ["jobs", "path", "abc"], ["plugins", "--json"]]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_python_blocks_parse_and_their_xpm_imports_resolve(document: str) -> None:
    imports: list[str] = []
    for block in skilldoc.blocks(SKILL.files[document]):
        if block.language != "python":
            continue
        tree = ast.parse(block.text, filename=f"{document}:{block.line}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0].startswith("xpm_"):
                imports.append(ast.unparse(node))
            elif isinstance(node, ast.Import):
                imports += [f"import {alias.name}" for alias in node.names if alias.name.startswith("xpm_")]
    if imports:
        subprocess.run([sys.executable, "-c", "\n".join(dict.fromkeys(imports))], check=True, timeout=60)


def _environment(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("XPM_")}
    (folder / "home").mkdir()
    (folder / "config").mkdir()
    env["HOME"] = str(folder / "home")
    env["XPM_CONFIG_DIR"] = str(folder / "config")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(folder / "project")
    return env


RUNNABLE = [
    (document, index)
    for document in DOCUMENTS
    for index, block in enumerate(skilldoc.blocks(SKILL.files[document]))
    if block.runnable
]


def test_examples_are_marked() -> None:
    """Every python or shell example is a file, runnable, or explicitly a fragment."""
    unmarked = [
        f"{document}:{block.line}"
        for document in DOCUMENTS
        for block in skilldoc.blocks(SKILL.files[document])
        if block.language in {"python", *skilldoc.SHELL_LANGUAGES}
        and not (block.runnable or block.filename or "fragment" in block.marks)
    ]
    assert not unmarked, "mark these blocks run, file=NAME or fragment: " + ", ".join(unmarked)
    assert len(RUNNABLE) >= 8


@pytest.mark.parametrize("document", sorted({document for document, _ in RUNNABLE}))
def test_examples_run(document: str, tmp_path: Path) -> None:
    """Run a document's examples in order, in one project folder, each in a child process."""
    project = tmp_path / "project"
    project.mkdir()
    env = _environment(tmp_path)
    for index, block in enumerate(skilldoc.blocks(SKILL.files[document])):
        where = f"{document}, block at line {block.line}"
        if block.filename:
            target = project / block.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text)
        if not block.runnable:
            continue
        if block.language == "python":
            script = block.filename or f"_example_{index}.py"
            if not block.filename:
                (project / script).write_text(block.text)
            command = [sys.executable, script]
        else:
            command = ["bash", "-e", "-o", "pipefail", "-c", block.text]
        result = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT
        )
        assert result.returncode == 0, (
            f"{where} failed (exit code {result.returncode})\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )


def test_packaged_skill_is_the_source_of_the_core_files() -> None:
    packaged = packaged_files()
    for name, text in packaged.items():
        if name != "SKILL.md":
            assert SKILL.files[name] == text


def _fake_section() -> str:
    return "# Fake plugin\n\nIt adds nothing real.\n"


def _broken_section() -> str:
    raise RuntimeError("cannot describe myself")


class _SectionsPlugin:
    """A plugin declaring a good section, a broken one, and one whose name a core file has."""

    from xpm_core.plugin import hookimpl

    @hookimpl
    def xpm_skill_sections(self):
        from xpm_core.plugin import SkillSectionType

        yield SkillSectionType(name="fake", title="Fake options", factory=_fake_section, summary="what fake adds")
        yield SkillSectionType(name="broken", title="Broken", factory=_broken_section)
        yield SkillSectionType(name="jobs", title="Clash", factory=_fake_section)


def test_sections_of_plugins_and_their_failures() -> None:
    from xpm_core.plugin import PluginRegistry, make_plugin_manager

    registry = PluginRegistry(make_plugin_manager(load_entrypoints=False, extra_plugins=[("fake", _SectionsPlugin())]))
    skill = build_skill(registry)
    assert skill.files["references/fake.md"] == _fake_section()
    assert "- [Fake options](references/fake.md) (from " in skill.files["SKILL.md"]
    assert "references/broken.md" not in skill.files
    assert skill.files["references/jobs.md"] == packaged_files()["references/jobs.md"]
    assert len(skill.problems) == 2
    assert "skill section 'broken' left out: RuntimeError: cannot describe myself" in skill.problems[0]
    assert "skill section 'jobs' left out: the skill already has references/jobs.md" in skill.problems[1]


PAGES = [Path(__file__).resolve().parents[1] / "README.md", Path(__file__).resolve().parents[3] / "docs/plugins/skill.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_plugin_documentation_names_real_commands(page: Path, command_tree) -> None:
    if not page.exists():
        pytest.skip(f"{page} is not part of this checkout")
    problems = [
        f"xpm {' '.join(arguments)}: {problem}"
        for arguments in skilldoc.invocations(page.read_text())
        if (problem := skilldoc.check_invocation(command_tree, arguments))
    ]
    assert not problems, "\n".join(problems)
