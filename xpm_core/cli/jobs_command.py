"""``xpm jobs``: list, kill and clean the jobs of a workspace, show their logs and folders."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import click

from xpm_core.cli.input_errors import checked_name
from xpm_core.cli.reconciling import reconcile_quietly
from xpm_core.cli.workspace_options import existing_workspace, given_workdir

if TYPE_CHECKING:
    from xpm_core.plugin.workspace import WorkspaceAPI
    from xpm_core.workspace.index import JobLine, WorkspaceIndex
    from xpm_core.workspace.records import JobRecord

#: Seconds between two reads of a log that ``xpm jobs log -f`` follows.
FOLLOW_INTERVAL = 0.25
# Where the group's own --workdir/--workspace (``xpm jobs --workdir WS list``, the form
# experimaestro uses) wait for the sub-command, which may also take them after its name.
_GROUP_WORKDIR = "xpm.jobs.workdir"
_GROUP_WORKSPACE = "xpm.jobs.workspace"


class FilterUsageError(click.ClickException):
    """A filter that cannot be read: exit code 2, like any other misuse of the command line."""

    exit_code = 2


@click.group("jobs")
@click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory.")
@click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
@click.pass_context
def jobs_group(ctx: click.Context, workdir: Optional[str], workspace_id: Optional[str]) -> None:
    """List, kill and clean the jobs of a workspace; show a job's log or folder.

    Jobs are named TASK_ID/HASH (a unique prefix of the hash is enough). --filter takes
    expressions such as '@state = "DONE" and model in ["bm25", "splade"]' (docs/jobs.md).
    """
    ctx.meta[_GROUP_WORKDIR] = workdir
    ctx.meta[_GROUP_WORKSPACE] = workspace_id


def _workspace_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--workdir`` / ``--workspace`` on a sub-command too; the command receives ``workspace``."""

    @click.option("--workdir", type=click.Path(file_okay=False), help="The workspace directory.")
    @click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
    @functools.wraps(command)
    def wrapper(*args: Any, workdir: Optional[str], workspace_id: Optional[str], **kwargs: Any) -> Any:
        meta = click.get_current_context().meta
        workdir = workdir if workdir is not None else meta.get(_GROUP_WORKDIR)
        workspace_id = workspace_id if workspace_id is not None else meta.get(_GROUP_WORKSPACE)
        path = given_workdir(workdir, workspace_id, kwargs.get("experiment"))
        return command(*args, workspace=existing_workspace(path), **kwargs)

    return wrapper


def _selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options choosing and showing jobs, shared by list, kill and clean."""
    for option in reversed([
        click.option("--experiment", metavar="ID", help="Only the jobs of this experiment (tags: of its runs)."),
        click.option("--filter", "filter_text", metavar="EXPR",
                     help='Only the jobs matching EXPR, e.g. \'@state = "DONE" and model = "bm25"\'.'),
        click.option("--tags", "show_tags", is_flag=True, help="Show each job's tags."),
        click.option("--fullpath", is_flag=True, help="Show job folders instead of TASK_ID/HASH."),
    ]):
        command = option(command)
    return _workspace_options(command)


# -- selecting jobs -------------------------------------------------------------------------------


def _open_index(workspace: Path) -> WorkspaceIndex:
    from xpm_core.workspace.index import WorkspaceIndex

    index = WorkspaceIndex(workspace)
    reconcile_quietly(workspace, index)
    return index


def _select(
    index: WorkspaceIndex, experiment: Optional[str], filter_text: Optional[str], limit: Optional[int] = None,
    *, paths: bool = True, tags: bool = True,
) -> list[JobLine]:
    """The jobs matching the options, most recently submitted first (with their folders and tags
    unless told they are not needed: not reading them makes listing 100,000 jobs faster)."""
    condition, params = None, []
    if filter_text is not None:
        # Imported here: parsing costs an import of parsimonious that plain listings skip.
        from xpm_core.jobfilter import FilterError, parse_filter, to_sql

        try:
            condition, params = to_sql(parse_filter(filter_text))
        except FilterError as error:
            raise FilterUsageError(str(error)) from None
    # The index re-checks unfinished jobs against their markers before it filters them in SQL.
    _check_experiment(index, experiment)
    return index.job_lines(condition, params, experiment_id=experiment, limit=limit, paths=paths, tags=tags)


def _check_experiment(index: WorkspaceIndex, experiment: Optional[str]) -> None:
    if experiment is not None:
        checked_name(experiment, "experiment id (--experiment)")
        known = [record.experiment_id for record in index.experiments()]
        if experiment not in known:
            listed = ", ".join(known) if known else "none"
            raise click.ClickException(
                f"no experiment {experiment!r} in {index.workspace} (experiments: {listed})"
            )


def _job_name(job: Any, fullpath: bool) -> str:
    return job.path if fullpath else f"{job.task_id}/{job.job_id}"


def _tag_value(value: Any) -> str:
    if isinstance(value, str) and value and not any(char.isspace() for char in value):
        return value
    return json.dumps(value)


def _state_labels() -> dict[Any, str]:
    """The state column of each state, padded (``JobState.name`` is slow to read 100,000 times)."""
    from xpm_core.plugin.job_state import JobState

    return {state: f"{state.name:<11}" for state in JobState}


def _tags_suffix(job: Any, show_tags: bool) -> str:
    """``  key=value key=value`` when the tags are asked for and the job has some."""
    if not show_tags or not job.tags_json:
        return ""
    return "  " + " ".join(f"{key}={_tag_value(value)}" for key, value in job.tags.items())


def _line(job: Any, fullpath: bool, show_tags: bool, labels: dict[Any, str]) -> str:
    """``STATE TASK_ID/HASH`` (or the folder), then the tags if asked for."""
    return f"{labels[job.state]} {_job_name(job, fullpath)}{_tags_suffix(job, show_tags)}"


def _lines(jobs: list[JobLine], fullpath: bool, show_tags: bool) -> list[str]:
    """One line per job; the common case (no option) in one comprehension, as it runs 100,000 times."""
    labels = _state_labels()
    if fullpath or show_tags:
        return [_line(job, fullpath, show_tags, labels) for job in jobs]
    return [f"{labels[job.state]} {job.task_id}/{job.job_id}" for job in jobs]


def _write(lines: list[str]) -> None:
    """Print ``lines`` with one write: listing 100,000 jobs must not cost 100,000 calls."""
    if not lines:
        return
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped (``xpm jobs list | head``): not an error. Python would complain
        # again when flushing stdout at exit, so point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _nothing_selected(experiment: Optional[str], filter_text: Optional[str]) -> str:
    if filter_text is not None:
        return f"no job matches the filter {filter_text!r}" + (f" in experiment {experiment!r}" if experiment else "")
    return f"no job in experiment {experiment!r}" if experiment else "no job in this workspace"


# -- list -----------------------------------------------------------------------------------------


@jobs_group.command("list")
@click.option("-c", "--count", type=click.IntRange(min=1), metavar="N", help="Only the N most recent jobs.")
@_selection_options
def list_command(
    workspace: Path, experiment: Optional[str], filter_text: Optional[str], show_tags: bool, fullpath: bool,
    count: Optional[int],
) -> None:
    """List jobs, most recently submitted first: STATE TASK_ID/HASH.

    A running job that reports its progress shows it after its state: RUNNING 42%.
    """
    index = _open_index(workspace)
    try:
        jobs = _select(index, experiment, filter_text, count, paths=fullpath, tags=show_tags)
    finally:
        index.close()
    if not jobs:
        click.echo(_nothing_selected(experiment, filter_text), err=True)
    _write(_with_progress(_lines(jobs, fullpath, show_tags), jobs, workspace))


def _with_progress(lines: list[str], jobs: list[JobLine], workspace: Path) -> list[str]:
    """``RUNNING 42%`` for the running jobs that report their progress (read from their folders)."""
    from xpm_core.plugin.job_state import JobState
    from xpm_core.runtime.progress_file import progress_label, read_progress

    width = len(_state_labels()[JobState.RUNNING])
    for position in [i for i, job in enumerate(jobs) if job.state is JobState.RUNNING]:
        job = jobs[position]
        folder = job.path or workspace / "jobs" / job.task_id / job.job_id
        label = progress_label(read_progress(folder))
        if label is not None:
            lines[position] = f"{'RUNNING ' + label:<{width}}" + lines[position][width:]
    return lines


# -- kill and clean (the workspace API's actions, printed as the CLI prints them) ------------------


def _open_api(workspace: Path) -> WorkspaceAPI:
    from xpm_core.plugin.workspace import WorkspaceAPI

    return WorkspaceAPI(workspace)


def _select_records(api: WorkspaceAPI, experiment: Optional[str], filter_text: Optional[str]) -> list[JobRecord]:
    """The records kill and clean act on; the same checks and messages as listing."""
    from xpm_core.plugin.workspace import FilterSyntaxError

    _check_experiment(api.index, experiment)
    try:
        return api.select(experiment_id=experiment, filter=filter_text)
    except FilterSyntaxError as error:
        raise FilterUsageError(str(error)) from None


@jobs_group.command("kill")
@click.option("--perform", is_flag=True, help="Really kill the jobs (without it, only say which).")
@_selection_options
def kill_command(
    workspace: Path, experiment: Optional[str], filter_text: Optional[str], show_tags: bool, fullpath: bool,
    perform: bool,
) -> None:
    """Kill running jobs through the launcher that started them (a dry run unless --perform)."""
    with _open_api(workspace) as api:
        records = _select_records(api, experiment, filter_text)
        outcomes = api.kill_records(records, perform=perform)
    by_id = {record.job_id: record for record in records}
    count = failures = 0
    for outcome in outcomes:
        job = by_id[outcome.job_id]
        name = _job_name(job, fullpath)
        if outcome.status == "not_started":
            click.echo(f"{name}: {job.state.name}, not started: nothing to kill")
        elif outcome.status == "failed":
            click.echo(outcome.message, err=True)
            failures += 1
        elif outcome.status == "already_ended":
            click.echo(outcome.message.replace(_name(job), name, 1))
        else:  # killed, would_kill
            click.echo(outcome.message.replace(_name(job), name, 1) + _tags_suffix(job, show_tags))
            count += 1
    if not any(outcome.status != "not_started" for outcome in outcomes):
        click.echo("no running job among the selected ones: nothing to kill"
                   if records else _nothing_selected(experiment, filter_text), err=True)
        return
    if not perform and count:
        click.echo(f"dry run: {count} job(s) would be killed; add --perform to kill them")
    if failures:
        raise click.ClickException(f"{failures} job(s) could not be killed (see above)")


@jobs_group.command("clean")
@click.option("--perform", is_flag=True, help="Really delete the job folders (without it, only say which).")
@_selection_options
def clean_command(
    workspace: Path, experiment: Optional[str], filter_text: Optional[str], show_tags: bool, fullpath: bool,
    perform: bool,
) -> None:
    """Delete the folders of finished jobs and forget them (a dry run unless --perform).

    Jobs that have not finished (running, waiting, ...) are never deleted: kill them first.
    """
    with _open_api(workspace) as api:
        records = _select_records(api, experiment, filter_text)
        outcomes = api.clean_records(records, perform=perform)
    by_id = {record.job_id: record for record in records}
    labels = _state_labels()
    deleted = failures = 0
    for outcome in outcomes:
        job = by_id[outcome.job_id]
        if outcome.status == "not_finished":
            click.echo(outcome.message.replace(_name(job), _job_name(job, fullpath), 1))
        elif outcome.status == "failed":
            click.echo(outcome.message, err=True)
            failures += 1
        elif outcome.status == "deleted":
            click.echo(f"deleted {_line(job, fullpath, show_tags, labels)}")
            deleted += 1
        else:  # would_delete
            click.echo(f"would delete {_line(job, fullpath, show_tags, labels)}")
    if all(outcome.status == "not_finished" for outcome in outcomes):
        click.echo("no finished job among the selected ones: nothing to clean"
                   if records else _nothing_selected(experiment, filter_text), err=True)
        return
    if not perform:
        would = sum(outcome.status == "would_delete" for outcome in outcomes)
        click.echo(f"dry run: {would} job(s) would be deleted; add --perform to delete them")
        return
    click.echo(f"cleaned {deleted} job(s)")
    if failures:
        raise click.ClickException(f"{failures} job(s) could not be deleted (see above)")


def _name(job: Any) -> str:
    return f"{job.task_id}/{job.job_id}"


# -- log and path ---------------------------------------------------------------------------------


def _find_job(workspace: Path, reference: str) -> tuple[str, str, Path]:
    """(task id, job id, folder) of ``TASK_ID/HASH``, ``TASK_ID/HASH-PREFIX`` or ``HASH-PREFIX``."""
    from xpm_core.plugin.workspace import WorkspaceAPIError
    from xpm_core.workspace.disk import job_directory

    task_id, _, prefix = reference.strip().rpartition("/")
    checked_name(prefix, "job id")
    if task_id:
        checked_name(task_id, "task id")
    with _open_api(workspace) as api:
        try:
            job = api.resolve(reference)
        except WorkspaceAPIError as error:
            if task_id and prefix and str(error).startswith("unknown job"):
                folder = job_directory(workspace, task_id, prefix)
                if folder.is_dir():  # on disk but not (yet) in the index: the files are the truth
                    return task_id, prefix, folder
            if str(error).startswith("invalid job id"):
                raise click.UsageError(str(error)) from None
            raise click.ClickException(str(error)) from None
    return job.task_id, job.job_id, Path(job.path)


@jobs_group.command("path")
@click.argument("job_id", metavar="JOBID")
@_workspace_options
def path_command(workspace: Path, job_id: str) -> None:
    """Print the folder of job JOBID (TASK_ID/HASH, or a unique prefix of the hash)."""
    _, _, folder = _find_job(workspace, job_id)
    click.echo(str(folder))


@jobs_group.command("log")
@click.argument("job_id", metavar="JOBID")
@click.option("--std", is_flag=True, help="Show the standard output instead of the standard error.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing what is written (like tail -f), until "
              "the job ends or Ctrl-C.")
@_workspace_options
def log_command(workspace: Path, job_id: str, std: bool, follow: bool) -> None:
    """Print the standard error (or, with --std, output) of job JOBID."""
    from xpm_core.workspace.disk import read_final_marker, task_name

    task_id, _, folder = _find_job(workspace, job_id)
    log = folder / f"{task_name(task_id)}.{'out' if std else 'err'}"
    if not follow:
        try:
            with open(log, "rb") as source:
                _copy(source)
        except FileNotFoundError:
            raise click.ClickException(f"no log yet: {log} does not exist (the job has not started)") from None
        return
    try:
        _follow(log, lambda: read_final_marker(folder, task_id) is not None)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how one stops following


def _copy(source: Any) -> bool:
    """Copy what ``source`` holds from where it is to stdout; whether there was anything."""
    out = sys.stdout.buffer
    copied = False
    while chunk := source.read(1 << 16):
        out.write(chunk)
        copied = True
    out.flush()
    return copied


def _follow(log: Path, ended: Callable[[], bool]) -> None:
    """Print ``log`` and what is appended to it, until ``ended()`` and nothing more comes."""
    while not log.exists():
        if ended():
            raise click.ClickException(f"the job ended without writing {log}")
        time.sleep(FOLLOW_INTERVAL)
    with open(log, "rb") as source:
        while True:
            # Checked before reading: what the job wrote before ending is then read this round.
            finished = ended()
            if not _copy(source) and finished:
                return
            time.sleep(FOLLOW_INTERVAL)
