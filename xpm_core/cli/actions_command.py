"""``xpm experiments actions list/run``: the actions a run registered, and executing one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from xpm_core.cli.input_errors import InputError
from xpm_core.cli.run_selection import pass_group_defaults, run_directory
from xpm_core.cli.workspace_options import workspace_options

RUN_OPTION = click.option("--run", "run_id", metavar="RUN_ID", help="A run of the experiment (default: the latest).")
#: Characters of an action id that list shows (run accepts any unique prefix).
SHOWN_ID = 12


@click.group("actions", short_help="List and run the actions a run registered (add_action).")
@click.pass_context
def actions_group(ctx: click.Context) -> None:
    """Actions an experiment registered (add_action in __submit__, or xp.add_action).

    An action is an operation on the results (export a model, publish a table) that runs
    when you ask, after the plan, asking its questions on the terminal or taking the answers
    from --set KEY=VALUE.
    """
    pass_group_defaults(ctx)


@actions_group.command("list")
@click.argument("experiment")
@RUN_OPTION
@workspace_options
def list_command(workspace: Path, experiment: str, run_id: Optional[str]) -> None:
    """List the actions of EXPERIMENT's run: id (its first characters), description and class."""
    from xpm_core.actions.records import recorded_actions

    run_dir = run_directory(workspace, experiment, run_id)
    actions = recorded_actions(run_dir)
    if not actions:
        click.echo(f"No action in run {run_dir.name} of {experiment}.")
        return
    for identifier, record in sorted(actions.items(), key=lambda item: str(item[1].get("description"))):
        click.echo(f"{identifier[:SHOWN_ID]}  {record.get('description') or '-'}  ({record.get('class') or '?'})")


def _prefill(values: tuple[str, ...]) -> dict[str, str]:
    prefill: dict[str, str] = {}
    for value in values:
        key, equals, answer = value.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--set")
        prefill[key.strip()] = answer
    return prefill


@actions_group.command("run")
@click.argument("experiment")
@click.argument("action_id")
@RUN_OPTION
@click.option("--set", "values", multiple=True, metavar="KEY=VALUE",
              help="Answer the question KEY in advance (repeatable); without a terminal every question needs one.")
@workspace_options
def run_command(workspace: Path, experiment: str, action_id: str, run_id: Optional[str],
                values: tuple[str, ...]) -> None:
    """Execute ACTION_ID (its id, or the first characters of it) of EXPERIMENT's run.

    The action is loaded from the run's objects.jsonl: its module must be importable (run from
    the plan's folder, or set PYTHONPATH).
    """
    from xpm_core.actions.interaction import CLIInteraction, InteractionError
    from xpm_core.actions.records import UnknownActionError, load_action

    prefill = _prefill(values)
    run_dir = run_directory(workspace, experiment, run_id)
    try:
        identifier, action = load_action(run_dir, action_id)
    except UnknownActionError as error:
        raise InputError(str(error)) from None
    except (ImportError, AttributeError) as error:
        raise click.ClickException(
            f"cannot load the action: {error} (run from the plan's folder, or set PYTHONPATH)"
        ) from None
    interaction = CLIInteraction(prefill)
    click.echo(f"Action {identifier[:SHOWN_ID]}: {action.describe()}", err=True)
    try:
        action.execute(interaction)
    except InteractionError as error:
        raise InputError(str(error)) from None
    except (KeyboardInterrupt, click.Abort):
        raise click.ClickException("action interrupted") from None
    except Exception as error:
        raise click.ClickException(f"action {identifier[:SHOWN_ID]} failed: {type(error).__name__}: {error}") from None
    unused = sorted(set(prefill) - set(interaction.asked))
    if unused:
        click.echo(f"Warning: the action did not ask {', '.join(unused)} (given with --set)", err=True)
