"""Reading the skill's Markdown as the tests check it: code blocks, inline code, xpm invocations."""

from __future__ import annotations

import re
import shlex
from typing import Iterator

import attrs
import click

FENCE = re.compile(r"^(`{3,})\s*(\S*)\s*(.*)$")
INLINE = re.compile(r"`([^`\n]+)`")
#: Tokens that end one shell command and may start another.
SEPARATORS = {"|", "||", "&", "&&", ";", "(", ")", "$(", ">", ">>", "<"}
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}


@attrs.frozen
class Block:
    """A fenced code block: its language, its marks (``run``, ``file=NAME``), its text and line."""

    language: str
    marks: tuple[str, ...]
    text: str
    line: int

    @property
    def runnable(self) -> bool:
        return "run" in self.marks

    @property
    def filename(self) -> str | None:
        for mark in self.marks:
            if mark.startswith("file="):
                return mark[len("file=") :]
        return None


def blocks(markdown: str) -> list[Block]:
    """Every fenced code block of ``markdown``, in order."""
    found: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, language, marks = match.groups()
        body: list[str] = []
        start = index + 1
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        found.append(Block(language, tuple(marks.split()), "\n".join(body) + "\n", start))
    return found


def prose(markdown: str) -> str:
    """``markdown`` without its fenced code blocks."""
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if fence is None and match is not None:
            fence = match.group(1)
        elif fence is not None and line.startswith(fence):
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


def inline_code(markdown: str) -> list[str]:
    """The inline code spans of the prose (tables included)."""
    return INLINE.findall(prose(markdown))


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def invocations(markdown: str) -> Iterator[list[str]]:
    """The arguments of every ``xpm ...`` command in shell blocks and inline code."""
    lines: list[str] = []
    for block in blocks(markdown):
        if block.language in SHELL_LANGUAGES:
            lines += [line.removeprefix("$ ") for line in block.text.splitlines()]
    lines += [span for span in inline_code(markdown) if re.match(r"^([A-Z_]+=\S*\s+)*xpm\s", span)]
    for line in lines:
        tokens = _tokens(line)
        segment_start = True
        for position, token in enumerate(tokens):
            if token in SEPARATORS:
                segment_start = True
            elif token == "xpm" and segment_start:
                arguments: list[str] = []
                for argument in tokens[position + 1 :]:
                    if argument in SEPARATORS:
                        break
                    arguments.append(argument)
                yield arguments
                segment_start = False
            elif not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                segment_start = False


def _option(command: click.Command, name: str) -> click.Parameter | None:
    for parameter in command.params:
        if isinstance(parameter, click.Option) and name in (*parameter.opts, *parameter.secondary_opts):
            return parameter
    return None


def check_invocation(root: click.Group, arguments: list[str]) -> str | None:
    """Why ``xpm ARGUMENTS`` does not fit the command tree (None when every word is known)."""
    ctx = click.Context(root)
    command: click.Command = root
    path = ["xpm"]
    skip = 0
    for argument in arguments:
        if skip:
            skip -= 1
            continue
        if argument in ("...", "…"):  # "xpm ...": any command, written as a placeholder
            return None
        if argument.startswith("-") and argument != "-":
            name = argument.split("=", 1)[0]
            option = _option(command, name)
            if option is None:
                return f"{' '.join(path)} has no option {name}"
            if not option.is_flag and not option.count and "=" not in argument:  # type: ignore[attr-defined]
                skip = option.nargs
        elif isinstance(command, click.Group):
            sub = command.get_command(ctx, argument)
            if sub is None:
                return f"{' '.join(path)} has no command {argument!r}"
            command = sub
            path.append(argument)
        # else: a positional argument (a file, a job id...)
    return None


def all_options(root: click.Group) -> set[str]:
    """Every option name of every command of the tree."""
    names: set[str] = set()
    ctx = click.Context(root)

    def walk(command: click.Command) -> None:
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                names.update(parameter.opts)
                names.update(parameter.secondary_opts)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub)

    walk(root)
    return names
