"""Finding bare parameter defaults (``x: Param[int] = 3``) in Python sources and making them explicit.

A bare default is left out of the identifier when the value equals it; the explicit spelling
of that behaviour is ``field(default=3, ignore_default=True)`` (what experimaestro 2.7.0's
``refactor default-values`` writes too). The rewrite keeps every other byte of the file.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Iterator, Optional

import attrs

#: Annotations whose bare defaults are rewritten (Constant defaults are always hashed: left alone).
PARAMETER_KINDS = frozenset({"Param", "Meta", "Option"})
#: Modules ``field`` may be imported from.
FIELD_MODULES = ("xpm_core", "experimaestro")
SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", ".tox", ".xpm"})


@attrs.frozen
class BareDefault:
    """One bare default: where it is and its source text."""

    class_name: str
    name: str
    line: int  # 1-based
    value: str


@attrs.frozen
class FileRefactoring:
    """What rewriting one file changes."""

    path: Path
    defaults: list[BareDefault]
    original: str
    rewritten: str

    def diff(self) -> str:
        """A unified diff of the change."""
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.rewritten.splitlines(keepends=True),
                fromfile=f"{self.path}",
                tofile=f"{self.path} (rewritten)",
            )
        )


def python_files(path: Path) -> Iterator[Path]:
    """``path`` if it is a Python file, else the Python files under it (virtualenvs, caches skipped)."""
    if path.is_file():
        if path.suffix == ".py":
            yield path
        return
    for file in sorted(path.rglob("*.py")):
        if not SKIPPED_DIRECTORIES & set(file.relative_to(path).parts[:-1]):
            yield file


def _kind(annotation: ast.expr) -> Optional[str]:
    """``Param`` for ``Param[int]`` or ``xpm_core.Param[int]``; None for other annotations."""
    if not isinstance(annotation, ast.Subscript):
        return None
    target = annotation.value
    name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
    return name if name in PARAMETER_KINDS else None


def _is_field_call(value: ast.expr) -> bool:
    if not isinstance(value, ast.Call):
        return False
    function = value.func
    return (isinstance(function, ast.Name) and function.id == "field") or (
        isinstance(function, ast.Attribute) and function.attr == "field"
    )


def _offset(lines: list[str], line: int, column: int) -> int:
    """Character offset in the file of (1-based line, UTF-8 byte column), as ast reports positions."""
    text = lines[line - 1]
    return sum(len(previous) for previous in lines[: line - 1]) + len(text.encode("utf-8")[:column].decode("utf-8"))


def refactor_source(source: str) -> tuple[str, list[tuple[ast.ClassDef, ast.AnnAssign]]]:
    """The source with every bare default wrapped, and the (class, assignment) nodes rewritten.

    Raises SyntaxError for a file that does not parse.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found = [
        (node, item)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value is not None
        and _kind(item.annotation) is not None and not _is_field_call(item.value)
    ]
    rewritten = source
    # From the end of the file, so that earlier offsets stay valid.
    for _, item in sorted(found, key=lambda pair: (pair[1].value.lineno, pair[1].value.col_offset), reverse=True):
        value = item.value
        start = _offset(lines, value.lineno, value.col_offset)
        end = _offset(lines, value.end_lineno, value.end_col_offset)
        rewritten = f"{rewritten[:start]}field(default={rewritten[start:end]}, ignore_default=True){rewritten[end:]}"
    if found:
        rewritten = _with_field_import(tree, rewritten)
    return rewritten, found


def _with_field_import(tree: ast.Module, source: str) -> str:
    """``source`` with ``field`` imported, next to the module's xpm_core (or experimaestro) import."""
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    for node in imports:
        if isinstance(node, ast.ImportFrom) and any(alias.asname is None and alias.name == "field" for alias in node.names):
            if node.module in FIELD_MODULES or (node.module or "").startswith(FIELD_MODULES):
                return source
    anchor = next((n for n in imports if isinstance(n, ast.ImportFrom) and n.module in FIELD_MODULES), None)
    module = anchor.module if anchor is not None else "xpm_core"
    if anchor is None and imports:
        anchor = imports[-1]
    lines = source.splitlines(keepends=True)
    position = anchor.end_lineno if anchor is not None else _after_docstring(tree)
    if position > 0 and not lines[position - 1].endswith("\n"):
        lines[position - 1] += "\n"
    # An added line is easier to review than an edit of a (maybe multi-line) import list.
    lines.insert(position, f"from {module} import field\n")
    return "".join(lines)


def _after_docstring(tree: ast.Module) -> int:
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno or 0
    return 0


def refactor_file(path: Path) -> Optional[FileRefactoring]:
    """The rewrite of ``path``, or None when it has no bare default. SyntaxError if it does not parse."""
    original = path.read_text(encoding="utf-8")
    rewritten, found = refactor_source(original)
    if not found:
        return None
    lines = original.splitlines()
    defaults = [
        BareDefault(
            class_name=node.name,
            name=item.target.id,  # type: ignore[union-attr]  # checked to be a Name
            line=item.lineno,
            value=_first_line(ast.get_source_segment(original, item.value) or lines[item.lineno - 1].strip()),  # type: ignore[arg-type]
        )
        for node, item in sorted(found, key=lambda pair: pair[1].lineno)
    ]
    return FileRefactoring(path=path, defaults=defaults, original=original, rewritten=rewritten)


def _first_line(text: str) -> str:
    first, newline, _ = text.partition("\n")
    return f"{first} ..." if newline else first
