"""Writes the command-line reference (docs/cli.md) from the commands' own help texts.

Regenerate with only the core's commands, so that installed plugins do not end up in it::

    XPM_LOAD_PLUGINS= python -m xpm_core.cli.docs > docs/cli.md
"""

from __future__ import annotations

from typing import Iterator, Optional

import click

#: Fixed widths: the output must not depend on the terminal it is generated in.
WIDTH = 100

HEADER = """# Command line reference

Every `xpm` command with its options, as `xpm COMMAND --help` prints them. This page is
generated from the commands' help texts: do not edit it, regenerate it with

```sh
XPM_LOAD_PLUGINS= python -m xpm_core.cli.docs > docs/cli.md
```

(`XPM_LOAD_PLUGINS=` leaves installed plugins out: their commands are documented with them).
Errors go to standard error, without a traceback unless `--debug` is given; the exit code is 2
for a usage error (unknown option, missing file, bad value) and 1 when the command fails.
"""


def _walk(command: click.Command, context: click.Context) -> Iterator[tuple[click.Command, click.Context]]:
    yield command, context
    if isinstance(command, click.Group):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                # Widths and help option names are inherited from the parent context.
                yield from _walk(sub, click.Context(sub, info_name=name, parent=context, **sub.context_settings))


def render(cli: Optional[click.Group] = None) -> str:
    """The Markdown reference of ``cli`` (default: ``make_cli()`` over the plugins loaded now)."""
    from xpm_core.cli import make_cli

    cli = cli if cli is not None else make_cli()
    root = click.Context(cli, info_name="xpm", terminal_width=WIDTH, max_content_width=WIDTH, **cli.context_settings)
    sections = [HEADER]
    for command, context in _walk(cli, root):
        sections.append(f"## `{context.command_path}`\n\n```text\n{command.get_help(context).rstrip()}\n```\n")
    return "\n".join(sections)


def main() -> None:
    """Print the reference to standard output."""
    click.echo(render(), nl=False)


if __name__ == "__main__":
    main()
