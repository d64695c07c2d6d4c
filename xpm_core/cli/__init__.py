"""The ``xpm`` command line: a click group built by ``make_cli`` from the commands plugins declare."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import click

from xpm_core import __version__

if TYPE_CHECKING:
    from xpm_core.plugin.manager import XpmPluginManager
    from xpm_core.plugin.registry import PluginRegistry


class PluginCommandGroup(click.Group):
    """A group whose sub-commands come from the ``xpm_commands`` hook, imported only when run.

    ``--help`` is written from the descriptors' summaries, so listing commands imports no
    plugin implementation module.
    """

    def __init__(self, registry: PluginRegistry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry = registry

    #: The ``parent`` of the :class:`CommandType` this group shows (``None``: the ``xpm`` group).
    parent: str | None = None

    def _declared(self) -> list[str]:
        commands = self.registry.commands()
        return [name for name in commands if commands[name].parent == self.parent]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self._declared()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        commands = self.registry.commands()
        if cmd_name not in self._declared():
            return None
        try:
            command = commands[cmd_name].load()
        except Exception as exc:
            raise click.ClickException(
                f"the command {cmd_name!r} from {commands.provider(cmd_name)} could not be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(command, click.Command):
            raise click.ClickException(
                f"the command {cmd_name!r} from {commands.provider(cmd_name)} is not a click "
                f"command (its factory gave {command!r})"
            )
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = self.registry.commands()
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                summary = self.commands[name].get_short_help_str(limit=80)
            else:
                summary = commands[name].summary
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def make_cli(pm: XpmPluginManager | None = None) -> click.Group:
    """Build the ``xpm`` command group over ``pm`` (by default, the installed plugins).

    The registry over ``pm`` becomes the process's registry (:func:`install_registry`), so the
    commands, the scheduler and the monitors they start all see the same plugins.
    """
    from xpm_core.plugin.registry import PluginRegistry, get_registry, install_registry

    registry = get_registry() if pm is None else None
    if registry is None:
        installed = get_registry()
        registry = installed if installed.pm is pm else PluginRegistry(pm)
        install_registry(registry)

    @click.group(
        cls=PluginCommandGroup,
        registry=registry,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.version_option(__version__, prog_name="xpm")
    @click.option(
        "--debug",
        is_flag=True,
        envvar="XPM_DEBUG",
        help="Log debug messages and show the traceback of unexpected errors (or XPM_DEBUG=1).",
    )
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        """xpm: declare experiments in Python, run each distinct task once, and find every result.

        Plugins add commands and components: 'xpm plugins' lists what is installed.
        Environment: XPM_LOAD_PLUGINS (comma-separated allow-list, empty for none) and
        XPM_DISABLE_PLUGINS (comma-separated plugins to skip).
        """
        ctx.obj = registry
        if debug:
            import logging

            logging.basicConfig(level=logging.DEBUG)

    return cli


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    from xpm_core.plugin.manager import PluginLoadWarning

    if issubclass(category, PluginLoadWarning):
        # One readable line per plugin problem, not Python's source-location format.
        click.echo(f"xpm: warning: {message}", err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``xpm`` console script: errors are one line, tracebacks need --debug."""
    import os
    import sys

    from xpm_core.names import InvalidNameError
    from xpm_core.settings.errors import SettingsError

    warnings.showwarning = _show_warning
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("XPM_DEBUG", "") not in ("", "0")
    try:
        code = make_cli().main(args, prog_name="xpm", standalone_mode=False)
    except click.UsageError as error:
        # One line, like every other error: click's usage block would bury it under two more.
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        first, *rest = error.format_message().splitlines() or [""]
        # Lines after the first only show the input (a spec and a caret under the place).
        click.echo("\n".join([f"Error: {first}{hint}", *rest]), err=True)
        code = error.exit_code
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        code = 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        code = 130
    except (InvalidNameError, SettingsError) as error:
        # What the user gave (a name, the settings file) is wrong: a usage error, one line.
        click.echo(f"xpm: error: {_one_line(str(error))}", err=True)
        code = 2
    except Exception as error:  # a user must not face a traceback without asking for it
        if debug:
            raise
        click.echo(f"xpm: error: {type(error).__name__}: {_one_line(str(error))}", err=True)
        click.echo("(run with --debug to see where it happened)", err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: str) -> str:
    """``message`` on one line: its lines joined with "; " (a terminal shows one error line)."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())
