"""``xpm jobs``: list, kill and clean the jobs of a workspace, show their logs and folders."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs
import click

from xpm_core.cli.workspace_options import existing_workspace, resolve_workspace

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import ProcessRef
    from xpm_core.plugin.registry import PluginRegistry
    from xpm_core.workspace.index import JobLine, WorkspaceIndex

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
        if workdir is not None and workspace_id is None:
            # settings.yaml would give this very path (settings.find_workspace): not reading
            # it spares importing yaml and cattrs, a fifth of `xpm jobs list`'s start-up.
            path = Path(os.path.normpath(Path(workdir).expanduser().absolute()))
        else:
            path = Path(resolve_workspace(workdir, workspace_id, kwargs.get("experiment")).path)
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

    return WorkspaceIndex(workspace)


def _select(
    index: WorkspaceIndex, experiment: Optional[str], filter_text: Optional[str], limit: Optional[int] = None,
    *, paths: bool = True, tags: bool = True,
) -> list[JobLine]:
    """The jobs matching the options, most recently submitted first (with their folders and tags
    unless told they are not needed: not reading them makes listing 100,000 jobs faster)."""
    condition, params, recheck, recheck_condition = None, [], None, None
    if filter_text is not None:
        # Imported here: parsing costs an import of parsimonious that plain listings skip.
        from xpm_core.jobfilter import FilterError, matches, parse_filter, to_sql, unfinished_sql

        try:
            expression = parse_filter(filter_text)
        except FilterError as error:
            raise FilterUsageError(str(error)) from None
        condition, params = to_sql(expression)
        recheck = functools.partial(matches, expression)
        recheck_condition = unfinished_sql(expression)
    if experiment is not None:
        known = [record.experiment_id for record in index.experiments()]
        if experiment not in known:
            listed = ", ".join(known) if known else "none"
            raise click.ClickException(
                f"no experiment {experiment!r} in {index.workspace} (experiments: {listed})"
            )
    return index.job_lines(condition, params, recheck=recheck, recheck_condition=recheck_condition,
                           experiment_id=experiment, limit=limit, paths=paths, tags=tags)


def _job_name(job: JobLine, fullpath: bool) -> str:
    return job.path if fullpath else f"{job.task_id}/{job.job_id}"


def _tag_value(value: Any) -> str:
    if isinstance(value, str) and value and not any(char.isspace() for char in value):
        return value
    return json.dumps(value)


def _state_labels() -> dict[Any, str]:
    """The state column of each state, padded (``JobState.name`` is slow to read 100,000 times)."""
    from xpm_core.plugin.job_state import JobState

    return {state: f"{state.name:<11}" for state in JobState}


def _tags_suffix(job: JobLine, show_tags: bool) -> str:
    """``  key=value key=value`` when the tags are asked for and the job has some."""
    if not show_tags or not job.tags_json:
        return ""
    return "  " + " ".join(f"{key}={_tag_value(value)}" for key, value in job.tags.items())


def _line(job: JobLine, fullpath: bool, show_tags: bool, labels: dict[Any, str]) -> str:
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
    """List jobs, most recently submitted first: STATE TASK_ID/HASH."""
    index = _open_index(workspace)
    try:
        jobs = _select(index, experiment, filter_text, count, paths=fullpath, tags=show_tags)
    finally:
        index.close()
    if not jobs:
        click.echo(_nothing_selected(experiment, filter_text), err=True)
    _write(_lines(jobs, fullpath, show_tags))


# -- kill -----------------------------------------------------------------------------------------


def _registry() -> PluginRegistry:
    from xpm_core.plugin.registry import get_registry

    return get_registry()


def _process_ref(job: JobLine) -> Optional[ProcessRef]:
    """The job's ``NAME.pid``, or None when it has none (not started) or it cannot be read."""
    from xpm_core.plugin.launcher import ProcessRef
    from xpm_core.workspace.disk import task_name

    pid_file = Path(job.path) / f"{task_name(job.task_id)}.pid"
    try:
        return ProcessRef.from_json(json.loads(pid_file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        click.echo(f"cannot read {pid_file}: {error}", err=True)
        return None


@attrs.define
class _KillReport:
    """What ``kill`` did: jobs killed (or that would be), and jobs it could not kill."""

    count: int = 0
    failures: int = 0


async def _kill(targets: list[tuple[JobLine, ProcessRef]], registry: PluginRegistry, perform: bool,
                fullpath: bool, show_tags: bool) -> _KillReport:
    """Cancel (or say what would be cancelled) each job still alive."""
    from xpm_core.plugin.launcher import ProcessStatus

    # One status query per launcher and connector for all its jobs, as the scheduler polls.
    groups: dict[tuple[str, str], list[tuple[JobLine, ProcessRef]]] = {}
    for job, ref in targets:
        groups.setdefault((ref.launcher, json.dumps(dict(ref.connector), sort_keys=True)), []).append((job, ref))
    report = _KillReport()
    launchers = registry.launchers()
    for (launcher_name, _), members in groups.items():
        if launcher_name not in launchers:
            for job, _ref in members:
                click.echo(f"cannot kill {_job_name(job, fullpath)}: the launcher {launcher_name!r} that "
                           "started it is not installed (xpm plugins lists the installed ones)", err=True)
                report.failures += 1
            continue
        try:
            launcher = launchers[launcher_name].load().for_process(members[0][1], registry)
            states = await launcher.poll([ref for _, ref in members])
        except Exception as error:  # one unreachable host or batch system must not stop the others
            for job, _ref in members:
                click.echo(f"cannot kill {_job_name(job, fullpath)}: asking the {launcher_name} launcher "
                           f"failed: {type(error).__name__}: {error}", err=True)
                report.failures += 1
            continue
        for job, ref in members:
            status = states.get(ref.id)
            where = f"{launcher_name} job {ref.id}" + (f" on {ref.host}" if ref.host else "")
            if status is not None and status.status is ProcessStatus.FINISHED:
                click.echo(f"{_job_name(job, fullpath)}: already ended ({where})")
                continue
            if perform:
                try:
                    await launcher.cancel(ref)
                except Exception as error:
                    click.echo(f"cannot kill {_job_name(job, fullpath)} ({where}): {type(error).__name__}: {error}",
                               err=True)
                    report.failures += 1
                    continue
                click.echo(f"killed {_job_name(job, fullpath)} ({where}){_tags_suffix(job, show_tags)}")
            else:
                click.echo(f"would kill {_job_name(job, fullpath)} ({where}){_tags_suffix(job, show_tags)}")
            report.count += 1
    return report


@jobs_group.command("kill")
@click.option("--perform", is_flag=True, help="Really kill the jobs (without it, only say which).")
@_selection_options
def kill_command(
    workspace: Path, experiment: Optional[str], filter_text: Optional[str], show_tags: bool, fullpath: bool,
    perform: bool,
) -> None:
    """Kill running jobs through the launcher that started them (a dry run unless --perform)."""
    import asyncio

    index = _open_index(workspace)
    try:
        jobs = _select(index, experiment, filter_text)
    finally:
        index.close()
    targets = []
    for job in jobs:
        if job.state.finished:
            continue
        ref = _process_ref(job)
        if ref is None:
            # Waiting in a driver's queue: stopping that experiment's driver is what stops it.
            click.echo(f"{_job_name(job, fullpath)}: {job.state.name}, not started: nothing to kill")
            continue
        targets.append((job, ref))
    if not targets:
        click.echo("no running job among the selected ones: nothing to kill"
                   if jobs else _nothing_selected(experiment, filter_text), err=True)
        return
    report = asyncio.run(_kill(targets, _registry(), perform, fullpath, show_tags))
    if not perform and report.count:
        click.echo(f"dry run: {report.count} job(s) would be killed; add --perform to kill them")
    if report.failures:
        raise click.ClickException(f"{report.failures} job(s) could not be killed (see above)")


# -- clean ----------------------------------------------------------------------------------------


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
    import shutil

    index = _open_index(workspace)
    try:
        jobs = _select(index, experiment, filter_text)
        finished = [job for job in jobs if job.state.finished]
        for job in jobs:
            if not job.state.finished:
                click.echo(f"{_job_name(job, fullpath)}: {job.state.name}, not finished: not cleaned"
                           + (" (kill it first)" if job.state.name in ("RUNNING", "SCHEDULED") else ""))
        if not finished:
            click.echo("no finished job among the selected ones: nothing to clean"
                       if jobs else _nothing_selected(experiment, filter_text), err=True)
            return
        labels = _state_labels()
        if not perform:
            for job in finished:
                click.echo(f"would delete {_line(job, fullpath, show_tags, labels)}")
            click.echo(f"dry run: {len(finished)} job(s) would be deleted; add --perform to delete them")
            return
        deleted = []
        for job in finished:
            try:
                shutil.rmtree(job.path)
            except FileNotFoundError:
                pass  # already gone: forgetting it is all that is left to do
            except OSError as error:
                # Kept in the index: what remains of the folder is still listed.
                click.echo(f"cannot delete {job.path}: {error}", err=True)
                continue
            deleted.append(job)
            click.echo(f"deleted {_line(job, fullpath, show_tags, labels)}")
        index.forget_jobs(job.job_id for job in deleted)
        click.echo(f"cleaned {len(deleted)} job(s)")
        if len(deleted) < len(finished):
            raise click.ClickException(f"{len(finished) - len(deleted)} job(s) could not be deleted (see above)")
    finally:
        index.close()


# -- log and path ---------------------------------------------------------------------------------


def _find_job(workspace: Path, reference: str) -> tuple[str, str, Path]:
    """(task id, job id, folder) of ``TASK_ID/HASH``, ``TASK_ID/HASH-PREFIX`` or ``HASH-PREFIX``."""
    from xpm_core.workspace.disk import job_directory

    task_id, _, prefix = reference.strip().rpartition("/")
    if not prefix:
        raise click.UsageError(f"invalid job id {reference!r}: write TASK_ID/HASH, e.g. mymodule.mytask/3e84...")
    index = _open_index(workspace)
    try:
        found = index.find_jobs(prefix, task_id or None, limit=6)
    finally:
        index.close()
    if len(found) == 1:
        job = found[0]
        return job.task_id, job.job_id, Path(job.path)
    if len(found) > 1:
        names = ", ".join(f"{job.task_id}/{job.job_id[:12]}..." for job in found[:5])
        more = " and more" if len(found) > 5 else ""
        raise click.ClickException(f"ambiguous job id {reference!r}: it starts the ids of {names}{more}; "
                                   "give more of the hash")
    if task_id:
        folder = job_directory(workspace, task_id, prefix)
        if folder.is_dir():  # on disk but not (yet) in the index: the files are the truth
            return task_id, prefix, folder
    raise click.ClickException(f"unknown job {reference!r}: no job of {workspace} has this id "
                               "(xpm jobs list shows them)")


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
