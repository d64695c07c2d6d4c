"""``xpm cleanup``: fix what dead processes left in a workspace (stale pid files and token holders),
then, once confirmed, kill stray jobs and delete orphan partial folders."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xpm_core.cli.workspace_options import workspace_options


@click.command("cleanup")
@workspace_options
@click.option("-y", "--yes", is_flag=True, help="Kill stray jobs and delete orphan partials without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would be fixed, killed or deleted.")
def cleanup_command(workspace: Path, yes: bool, dry_run: bool) -> None:
    """Clean up after processes that died: safe fixes first, then what needs a confirmation.

    \b
    Fixed without asking (only for processes this host can check):
      - stale pid files: the job's process is gone; its end is recorded and the file removed;
      - stale token holders: units of a token kept for a job whose driver and process are gone.
    Asked for (or --yes):
      - stray jobs: running, but the latest run of no experiment lists them; they are killed;
      - orphan partials: partial folders no job folder links to; they are deleted.

    Experiments whose driver runs are skipped. Orphan job folders are 'xpm orphans --clean'.
    """
    from xpm_core.maintenance.cleanup import delete_partial, fix_stale_pid_file, plan_cleanup
    from xpm_core.runtime.tokens import remove_stale_holder
    from xpm_core.workspace.index import WorkspaceIndex

    with WorkspaceIndex(workspace) as index:
        plan = plan_cleanup(workspace, index)
        for name in plan.running_experiments:
            click.echo(f"Skipping experiment {name}: its driver is running.")
        if plan.empty:
            click.echo(f"Nothing to clean up in {workspace}.")
            return
        prefix = "would " if dry_run else ""

        for stale in plan.stale_pid_files:
            if dry_run:
                click.echo(f"would remove the stale pid file of {stale.key} (process {stale.pid} has ended)")
                continue
            marker = fix_stale_pid_file(stale, index)
            if marker is None:
                click.echo(f"kept the pid file of {stale.key}: the job still holds its lock")
            else:
                click.echo(f"removed the stale pid file of {stale.key} (process {stale.pid} has ended; "
                           f"job {marker.state.name})")
        for holder in plan.stale_tokens:
            what = f"{holder.count} unit(s) of token {holder.token!r} held for {holder.job} ({holder.driver}, ended)"
            if dry_run:
                click.echo(f"would release {what}")
            elif remove_stale_holder(holder):
                click.echo(f"released {what}")

        confirmed = yes and not dry_run
        if plan.stray_jobs:
            click.echo(f"{len(plan.stray_jobs)} stray job(s): running, but the latest run of no experiment lists them:")
            for record in plan.stray_jobs:
                click.echo(f"  {record.state.name} {record.task_id}/{record.job_id}")
        if plan.orphan_partials:
            click.echo(f"{len(plan.orphan_partials)} orphan partial folder(s), linked by no job folder:")
            for path in plan.orphan_partials:
                click.echo(f"  {path.relative_to(workspace)}")
        pending = bool(plan.stray_jobs or plan.orphan_partials)
        if pending and dry_run:
            click.echo("Dry run: nothing was changed.")
            return
        if pending and not confirmed:
            if not sys.stdin.isatty():
                click.echo(f"{prefix}Kept them: run again with --yes to kill the stray jobs and delete the "
                           "orphan partials.", err=True)
                return
            confirmed = click.confirm("Kill the stray jobs and delete the orphan partials?", default=False)
            if not confirmed:
                return
        if plan.stray_jobs:
            from xpm_core.plugin.workspace import WorkspaceAPI

            with WorkspaceAPI(workspace) as api:
                for outcome in api.kill_records(plan.stray_jobs, perform=True):
                    click.echo(outcome.message, err=outcome.refused)
        for path in plan.orphan_partials:
            if delete_partial(path, workspace):
                click.echo(f"deleted {path.relative_to(workspace)}")
            else:
                click.echo(f"kept {path.relative_to(workspace)}: a job is writing it", err=True)
