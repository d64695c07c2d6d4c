"""Built-in plugin contributing the core's ``xpm`` sub-commands."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin.components import CommandType
from xpm_core.plugin.hookspecs import hookimpl


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="plugins",
        factory="xpm_core.cli.plugins_command:plugins_command",
        summary="List installed plugins and what they provide.",
    )
    yield CommandType(
        name="run-experiment",
        factory="xpm_core.cli.run_experiment:run_experiment_command",
        summary="Run the experiment a YAML file describes (calls run(helper, cfg) of its plan).",
    )
    yield CommandType(
        name="experiments",
        factory="xpm_core.cli.experiments_command:experiments_group",
        summary="List, monitor, copy and prune the experiments of a workspace; their services and actions.",
    )
    yield CommandType(
        name="orphans",
        factory="xpm_core.cli.orphans_command:orphans_command",
        summary="List (and clean) job folders that no experiment run refers to.",
    )
    yield CommandType(
        name="cleanup",
        factory="xpm_core.cli.cleanup_command:cleanup_command",
        summary="Fix what dead processes left (pid files, token holders); kill stray jobs, delete orphan partials.",
    )
    yield CommandType(
        name="parameters-difference",
        factory="xpm_core.cli.parameters_difference_command:parameters_difference_command",
        summary="Show the parameters that differ between two jobs (params.json files or job folders).",
    )
    yield CommandType(
        name="deprecated",
        factory="xpm_core.cli.deprecated_command:deprecated_group",
        summary="List (and link or move) job folders whose identifier changed through @deprecate.",
    )
    yield CommandType(
        name="refactor",
        factory="xpm_core.cli.refactor_command:refactor_group",
        summary="Rewrite deprecated patterns in Python sources (bare default values).",
    )
    yield CommandType(
        name="check-documentation",
        factory="xpm_core.cli.check_documentation_command:check_documentation_command",
        summary="Report the configurations and tasks of a package that a Sphinx objects.inv does not document.",
    )
    yield CommandType(
        name="workspaces",
        factory="xpm_core.cli.workspaces_command:workspaces_group",
        summary="List the workspaces of settings.yaml.",
    )
    yield CommandType(
        name="find-launchers",
        factory="xpm_core.cli.find_launchers_command:find_launchers_command",
        summary="Show the launcher that launchers.py chooses for a requirement spec.",
    )
    yield CommandType(
        name="launchers",
        factory="xpm_core.cli.launchers_command:launchers_group",
        summary="Write a launchers.py for this machine (launchers direct generate).",
    )
    yield CommandType(
        name="run",
        factory="xpm_core.cli.run_command:run_command",
        summary="Run the task of a job folder's params.json by hand, here (no lock, no marker).",
    )
    yield CommandType(
        name="jobs",
        factory="xpm_core.cli.jobs_command:jobs_group",
        summary="List, kill and clean jobs (--filter EXPR); show a job's log or folder.",
    )
