"""``xpm experiments``: list the experiments of a workspace, rebuild its index (sync), copy a run."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from pathlib import Path
from typing import Optional

import click

from xpm_core.cli.reconciling import reconcile_quietly
from xpm_core.cli.workspace_options import existing_workspace, resolve_workspace, workspace_options
from xpm_core.plugin.components import CommandType

#: Sub-commands written in their own modules, imported only when used: name -> "module:attr".
LAZY_COMMANDS = {
    "actions": "xpm_core.cli.actions_command:actions_group",
    "services": "xpm_core.cli.services_command:services_group",
    "monitor": "xpm_core.cli.monitor_command:monitor_command",
    "monitor-server": "xpm_core.monitor_protocol.command:monitor_server_command",
    "history": "xpm_core.cli.history_command:history_command",
    "history-prune": "xpm_core.cli.history_command:history_prune_command",
    "tag": "xpm_core.cli.history_command:tag_command",
    "tags": "xpm_core.cli.history_command:tags_command",
    "untag": "xpm_core.cli.history_command:untag_command",
    "log": "xpm_core.cli.driver_log_command:driver_log_command",
}


class ExperimentsGroup(click.Group):
    """The ``experiments`` group: its own commands, those of ``LAZY_COMMANDS`` that exist, and
    the commands plugins declare with ``CommandType(parent="experiments")`` (``ssh-monitor``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = {name for name in LAZY_COMMANDS if self._available(name)}
        return sorted(set(self.commands) | lazy | set(_plugin_commands()))

    @staticmethod
    def _available(name: str) -> bool:
        module = LAZY_COMMANDS[name].partition(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        declared = _plugin_commands()
        if cmd_name in declared:
            try:
                command = declared[cmd_name].load()
            except Exception as exc:
                raise click.ClickException(
                    f"the command 'experiments {cmd_name}' could not be loaded: {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(command, click.Command):
                raise click.ClickException(f"the command 'experiments {cmd_name}' is not a click command")
        elif cmd_name in LAZY_COMMANDS and self._available(cmd_name):
            module, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
        else:
            return None
        self.add_command(command, cmd_name)
        return command


def _plugin_commands() -> dict[str, CommandType]:
    """The commands plugins put under ``xpm experiments``."""
    from xpm_core.plugin.registry import get_registry

    commands = get_registry().commands()
    return {name: commands[name] for name in commands if commands[name].parent == "experiments"}


@click.group("experiments", cls=ExperimentsGroup)
@click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory (for every sub-command).")
@click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id (for every sub-command).")
@click.pass_context
def experiments_group(ctx: click.Context, workdir: Optional[str], workspace_id: Optional[str]) -> None:
    """Manage the experiments of a workspace: list and monitor them, rebuild the index, copy them
    elsewhere, prune their history, start their services and run their actions.

    --workdir/--workspace may come before the sub-command (as in experimaestro) or after it;
    before "copy", they name the workspace to copy from.
    """
    if workdir is None and workspace_id is None:
        return
    # Defaults for the sub-commands' own options, which still win when given; copy takes
    # the group's workspace as the one to copy from.
    defaults: dict[str, dict[str, str]] = {}
    for name in ctx.command.list_commands(ctx):  # type: ignore[attr-defined]
        keys = ("from_workdir", "from_workspace") if name == "copy" else ("workdir", "workspace_id")
        defaults[name] = {key: value for key, value in zip(keys, (workdir, workspace_id)) if value is not None}
    ctx.default_map = defaults


def _run_summary(status: Optional[str], errors: int) -> str:
    parts = [status or "unknown status"]
    if errors:
        parts.append(f"{errors} job{'s' if errors > 1 else ''} in error")
    return ", ".join(parts)


@experiments_group.command("list")
@workspace_options
def list_command(workspace: Path) -> None:
    """List the experiments: id, host, finished/total jobs of the latest run, and its status.

    One line per experiment: "ID [HOSTNAME] (DONE/TOTAL jobs) STATUS". Failed jobs do not
    count as finished.
    """
    from xpm_core.plugin.job_state import JobState
    from xpm_core.workspace import disk
    from xpm_core.workspace.index import WorkspaceIndex

    gone = []
    with WorkspaceIndex(workspace) as index:
        reconcile_quietly(workspace, index)
        experiments = index.experiments()
        if not experiments:
            click.echo(f"No experiments in {workspace}.")
            return
        for experiment in experiments:
            runs = index.runs(experiment.experiment_id)
            if not runs:
                click.echo(f"{experiment.experiment_id} (no run)")
                continue
            latest = runs[-1]
            if not disk.is_run_directory(workspace / disk.EXPERIMENTS_DIR / experiment.experiment_id / latest.run_id):
                # Deleted by hand since the index heard of it: the files win.
                gone.append(experiment.experiment_id)
                continue
            jobs = index.jobs(experiment.experiment_id, latest.run_id)
            done = sum(job.state is JobState.DONE for job in jobs)
            errors = sum(job.state is JobState.ERROR for job in jobs)
            host = f" [{latest.hostname}]" if latest.hostname else ""
            click.echo(
                f"{experiment.experiment_id}{host} ({done}/{len(jobs)} jobs) {_run_summary(latest.status, errors)}"
            )
    if gone:
        click.echo(
            f"xpm: not listed, their run folder was deleted: {', '.join(gone)} "
            "(run 'xpm experiments sync' to update the index)",
            err=True,
        )
    _show_warnings(workspace)


def _show_warnings(workspace: Path) -> None:
    """The workspace's warnings (WorkspaceAPI.warnings), each with the command that fixes it."""
    from xpm_core.plugin.workspace import WorkspaceAPI

    with WorkspaceAPI(workspace) as api:
        for warning in api.warnings():
            click.echo(f"xpm: warning: {warning.description}; fix: {' or '.join(warning.actions)}", err=True)


@experiments_group.command("sync")
@workspace_options
def sync_command(workspace: Path) -> None:
    """Rebuild the workspace index from the files on disk (job markers, run folders).

    The job commands and monitors read the index; run this when it seems out of date (jobs
    run by another tool, files copied or deleted by hand). The files always win.
    """
    from xpm_core.workspace.index import WorkspaceIndex

    started = time.monotonic()
    click.echo(f"Reading the job and run folders of {workspace}...", err=True)
    with WorkspaceIndex(workspace) as index:
        if not index.rebuilt_on_open:
            index.rebuild()
        reconcile_quietly(workspace, index)
        experiments = index.experiments()
        runs = sum(experiment.run_count for experiment in experiments)
        states: dict[str, int] = {}
        for job in index.jobs():
            states[job.state.value] = states.get(job.state.value, 0) + 1
    jobs = sum(states.values())
    by_state = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    click.echo(
        f"Synchronized {workspace} in {time.monotonic() - started:.1f}s: {len(experiments)} experiment(s), "
        f"{runs} run(s), {jobs} job(s)" + (f" ({by_state})" if by_state else "") + "."
    )


def _choose_workspace(workdir: Optional[str], workspace_id: Optional[str], flag: str) -> Path:
    """The workspace of ``--FLAG-workdir``/``--FLAG-workspace``, or asked for on a terminal."""
    if workdir is None and workspace_id is None:
        role = "source" if flag == "from" else "destination"
        if not sys.stdin.isatty():
            raise click.UsageError(f"give the {role} workspace: --{flag}-workspace ID or --{flag}-workdir PATH")
        from xpm_core.settings.settings_file import SettingsError, load_settings

        try:
            known = [workspace.id for workspace in load_settings().workspaces]
        except SettingsError as error:
            from xpm_core.cli.input_errors import InputError

            raise InputError(str(error)) from None
        question = f"{role.capitalize()} workspace" + (f" ({', '.join(known)}, or a path)" if known else " (a path)")
        answer = click.prompt(question)
        if answer in known:
            workspace_id = answer
        else:
            workdir = answer
    return Path(resolve_workspace(workdir, workspace_id).path)


def _choose_experiment(workspace: Path) -> str:
    """Ask for an experiment of ``workspace`` on a terminal; a usage error without one."""
    from xpm_core.workspace import disk

    known = sorted({run.parent.name for run in disk.run_directories(workspace)})
    if not known:
        raise click.ClickException(f"no experiment with a run in {workspace}: nothing to copy")
    if not sys.stdin.isatty():
        raise click.UsageError(f"give the EXPERIMENT_ID to copy (experiments in {workspace}: {', '.join(known)})")
    return click.prompt("Experiment", type=click.Choice(known))


@experiments_group.command("copy")
@click.argument("experiment_id", required=False)
@click.argument("run_id", required=False)
@click.option("--from-workspace", metavar="ID", help="Source workspace, by id in settings.yaml.")
@click.option("--from-workdir", type=click.Path(file_okay=False),
              help="Source workspace, by path or as ssh://[USER@]HOST[:PORT]/PATH.")
@click.option("--to-workspace", metavar="ID", help="Destination workspace, by id in settings.yaml.")
@click.option("--to-workdir", type=click.Path(file_okay=False),
              help="Destination workspace, by path or as ssh://[USER@]HOST[:PORT]/PATH (created if needed).")
@click.option("--perform", "-y", "--yes", "perform", is_flag=True, help="Copy for real (the default is a dry run).")
def copy_command(
    experiment_id: Optional[str],
    run_id: Optional[str],
    from_workspace: Optional[str],
    from_workdir: Optional[str],
    to_workspace: Optional[str],
    to_workdir: Optional[str],
    perform: bool,
) -> None:
    """Copy run RUN_ID (default: the latest) of EXPERIMENT_ID, and the jobs it lists, to another workspace.

    Without --perform (or -y), shows what would be copied and copies nothing. Jobs already in
    the destination are kept; jobs still running are not copied. Each job is copied to
    DEST/.xpm-staging/ first and then moved into place, so an interrupted copy leaves no
    half-copied job; copying again resumes it. Omitted arguments are asked for when a terminal
    is attached. A workspace on another host is given as ssh://[USER@]HOST[:PORT]/PATH (with
    xpm-ssh installed): files go over SFTP, only what the destination lacks.
    """
    from xpm_core.cli.input_errors import checked_name
    from xpm_core.maintenance.copy_experiment import CopyError, JobAction, perform_copy, plan_copy

    if experiment_id is not None:
        checked_name(experiment_id, "experiment id")
    if run_id is not None:
        checked_name(run_id, "run id")

    from xpm_core.maintenance.copy_over_connectors import is_remote_location

    source: Path | str
    destination: Path | str
    if from_workdir is not None and is_remote_location(from_workdir):
        source = from_workdir  # another host's workspace, read through its connector
        if experiment_id is None:
            raise click.UsageError(f"give the EXPERIMENT_ID to copy from {from_workdir}")
    else:
        source = existing_workspace(_choose_workspace(from_workdir, from_workspace, "from"))
    if to_workdir is not None and is_remote_location(to_workdir):
        destination = to_workdir
    else:
        destination = _choose_workspace(to_workdir, to_workspace, "to")
    if experiment_id is None:
        assert isinstance(source, Path)
        experiment_id = _choose_experiment(source)
    try:
        plan = plan_copy(source, destination, experiment_id, run_id)
    except CopyError as error:
        raise click.ClickException(str(error)) from None

    copied = plan.jobs_to_copy()
    click.echo(f"Experiment {plan.experiment_id}, run {plan.run_id} ({plan.run_status or 'unknown status'}, "
               f"{len(plan.jobs)} jobs)")
    click.echo(f"  from {plan.source_label}")
    click.echo(f"  to   {plan.destination_label}")
    run_action = "exists" if plan.run_exists else "copy"
    click.echo(f"  {run_action:8} run  {plan.destination_run.relative_to(plan.destination_workspace)}")
    notes = {
        JobAction.EXISTS: "already in the destination",
        JobAction.RUNNING: "may still be running: copy it once it has finished",
        JobAction.MISSING: "never started: no folder",
    }
    for job in plan.jobs:
        note = f" ({job.state.value})" if job.action == JobAction.COPY else f" ({notes[job.action]})"
        click.echo(f"  {job.action:8} job  {job.key}{note}")
    if plan.run_status == "running":
        click.echo("Warning: the run is still running (or its driver was killed): its files may change.", err=True)
    if not perform:
        click.echo(f"Dry run: {len(copied)} job(s) and {0 if plan.run_exists else 1} run would be copied. "
                   "Run again with --perform (or -y) to copy.")
        return
    if not copied and plan.run_exists:
        click.echo("Nothing to copy: everything is already in the destination.")
        return
    try:
        perform_copy(plan, progress=lambda message: click.echo(f"  {message}", err=True))
    except CopyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Copied {len(copied)} job(s)" + ("" if plan.run_exists else " and the run") +
               f" to {plan.destination_label}.")
