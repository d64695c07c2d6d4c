"""The documentation keeps up with the code: every hook documented with its exact signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from xpm_core.plugin.hookspecs import XpmSpecs

DOCS = Path(__file__).parent.parent / "docs"
HOOKS = sorted(name for name in dir(XpmSpecs) if name.startswith("xpm_"))


def documented_hooks() -> dict[str, str]:
    headings = re.findall(r"^## (xpm_\w+)\((.*)\)$", (DOCS / "plugin_hooks.md").read_text(), re.M)
    return dict(headings)


def spec_arguments(hook: str) -> str:
    parameters = list(inspect.signature(getattr(XpmSpecs, hook)).parameters)
    return ", ".join(name for name in parameters if name != "self")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_signature(hook):
    documented = documented_hooks()
    assert hook in documented, f"docs/plugin_hooks.md has no '## {hook}(...)' section"
    assert documented[hook] == spec_arguments(hook), (
        f"docs/plugin_hooks.md documents {hook}({documented[hook]}), "
        f"the spec is {hook}({spec_arguments(hook)})"
    )


def test_no_documented_hook_is_stale():
    assert sorted(documented_hooks()) == HOOKS


def test_every_hook_spec_has_a_docstring_with_an_example():
    for hook in HOOKS:
        doc = inspect.getdoc(getattr(XpmSpecs, hook)) or ""
        assert "Example::" in doc and "Kind:" in doc, f"{hook}'s docstring lacks its kind or example"


def test_kitchen_sink_plugin_implements_every_hook():
    # The test plugin exercises every hook; a new hook needs an implementation there too.
    import ast

    source = (Path(__file__).parent / "plugins" / "kitchen_sink" / "plugin.py").read_text()
    defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    assert set(HOOKS) <= defined


def test_docs_index_links_every_page():
    index = (DOCS / "index.md").read_text()
    for page in sorted(DOCS.rglob("*.md")):
        relative = page.relative_to(DOCS).as_posix()
        if relative != "index.md":
            assert f"({relative})" in index, f"docs/index.md does not link {relative}"
