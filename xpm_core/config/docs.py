"""Parameter help read from a class docstring (``Attributes:`` section) and attribute docstrings."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

_SECTION = re.compile(r"^\s*(Attributes|Args|Arguments|Parameters|Params)\s*:\s*$")
_ENTRY = re.compile(r"^(\s*)(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


def parameter_help(cls: type) -> dict[str, str]:
    """Help texts by parameter name; attribute docstrings win over the class docstring."""
    found = _docstring_sections(cls.__dict__.get("__doc__") or "")
    found.update(_attribute_docstrings(cls))
    return found


def _docstring_sections(doc: str) -> dict[str, str]:
    result: dict[str, str] = {}
    lines = textwrap.dedent(doc).splitlines()
    in_section = False
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        if _SECTION.match(line):
            in_section, entry_indent, current = True, None, None
            continue
        if not in_section:
            continue
        if not line.strip():
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        match = _ENTRY.match(line)
        if match and (entry_indent is None or indent == entry_indent):
            entry_indent = indent
            current = match.group(2)
            result[current] = match.group(4).strip()
        elif current is not None and entry_indent is not None and indent > entry_indent:
            result[current] = (result[current] + " " + line.strip()).strip()
        else:
            in_section = False
    return result


def _attribute_docstrings(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}
    result: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    previous: str | None = None
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            previous = node.target.id
            continue
        if (
            previous
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            result[previous] = inspect.cleandoc(node.value.value)
        previous = None
    return result
