"""The hook specifications that plugins implement: every extension point of xpm is one method here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:
    from xpm_core.plugin.components import (
        CommandType,
        ConnectorMatch,
        ConnectorType,
        LauncherType,
        MonitorType,
        SerializerType,
        SkillSectionType,
    )
    from xpm_core.plugin.events import ExperimentView, JobView
    from xpm_core.plugin.job_state import JobState

#: pluggy project name: entry-point group, marker attribute names and hook prefix all derive from it.
PROJECT_NAME = "xpm"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate plugin functions with ``@xpm_core.hookimpl`` so pluggy recognises them.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class XpmSpecs:
    """All xpm hooks. Plugins implement any subset as module-level functions named like the methods.

    Registration hooks (``xpm_connectors`` ... ``xpm_commands``) are collect-all: every plugin's
    answer is gathered, names are validated and conflicts are reported naming both providers.
    Their descriptors carry ``"module:attr"`` factories, so listing what is installed imports
    no implementation module.
    """

    # ---- registration --------------------------------------------------------------------

    @hookspec
    def xpm_connectors(self) -> Iterable[ConnectorType]:
        """Declare connectors: *where* jobs run (paths, files, processes, locks on a host).

        :returns: an iterable of :class:`~xpm_core.plugin.components.ConnectorType`.

        Kind: collect-all. Core default: ``local`` (registered by ``xpm_core.builtin``).

        Example::

            @hookimpl
            def xpm_connectors():
                yield ConnectorType(name="ssh", factory="xpm_ssh.connector:SshConnector",
                                    summary="Run on a remote host over SSH")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_launchers(self) -> Iterable[LauncherType]:
        """Declare launchers: *how* jobs are started through a connector (process, sbatch, oarsub).

        :returns: an iterable of :class:`~xpm_core.plugin.components.LauncherType`.

        Kind: collect-all. Core default: ``direct``.

        Example::

            @hookimpl
            def xpm_launchers():
                yield LauncherType(name="slurm", factory="xpm_slurm.launcher:SlurmLauncher",
                                   settings="xpm_slurm.settings:SlurmSettings",
                                   summary="Submit jobs with sbatch")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_serializers(self) -> Iterable[SerializerType]:
        """Declare value serializers: how values of a Python type are written to and read from JSON.

        :returns: an iterable of :class:`~xpm_core.plugin.components.SerializerType`; each names the
            Python types it handles (``"module:QualName"``, subclasses included) and the JSON
            ``type`` tags it reads back, so choosing a serializer imports nothing.

        Kind: collect-all. Core defaults: the value types of ``params.json`` (paths, enums, ...).

        Example::

            @hookimpl
            def xpm_serializers():
                yield SerializerType(name="path", factory="xpm_core.builtin.serializers.standard_types:PathSerializer",
                                     python_types=("pathlib:PurePath",),
                                     summary="filesystem paths")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_monitors(self) -> Iterable[MonitorType]:
        """Declare monitors: live views of an experiment or workspace (console, web UI, ...).

        :returns: an iterable of :class:`~xpm_core.plugin.components.MonitorType`.

        Kind: collect-all.

        Example::

            @hookimpl
            def xpm_monitors():
                yield MonitorType(name="web", factory="xpm_web.monitor:WebMonitor",
                                  summary="Follow jobs in a browser")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_commands(self) -> Iterable[CommandType]:
        """Declare ``xpm`` sub-commands. The click command is imported only when it is run.

        :returns: an iterable of :class:`~xpm_core.plugin.components.CommandType` whose factory
            resolves to a :class:`click.Command` (a group for several commands: ``xpm slurm ...``).

        Kind: collect-all. Core defaults: ``plugins`` and the other built-in commands.

        Example::

            @hookimpl
            def xpm_commands():
                yield CommandType(name="slurm", factory="xpm_slurm.cli:slurm_group",
                                  summary="Inspect the Slurm cluster as xpm sees it")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_skill_sections(self) -> Iterable[SkillSectionType]:
        """Declare reference sections of the agent skill that ``xpm install-skill`` installs.

        :returns: an iterable of :class:`~xpm_core.plugin.components.SkillSectionType` whose
            factory gives the section's Markdown (a string, or a callable returning one), so
            that the installed skill describes the plugins the user really has.

        Kind: collect-all. Core default: none (the skill's own files cover the core).

        Example::

            @hookimpl
            def xpm_skill_sections():
                yield SkillSectionType(name="slurm", title="Slurm launcher options",
                                       factory="xpm_slurm.skill:SECTION")

        .. versionadded:: 0.1
        """

    # ---- dispatch ------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def xpm_connector_for_url(self, url: str) -> ConnectorMatch | None:
        """Say which connector handles ``url`` (``ssh://host/path``, ``/local/path``, ...).

        :param url: what the user wrote where a location is expected.
        :returns: a :class:`~xpm_core.plugin.components.ConnectorMatch` (connector name and the
            options to build it with) if this plugin handles the URL, else ``None``.

        Kind: firstresult. Core fallback (``trylast``): local paths and ``file://`` URLs go to
        the ``local`` connector; anything else is an error that lists the URL schemes known.

        Example::

            @hookimpl
            def xpm_connector_for_url(url):
                if url.startswith("ssh://"):
                    host, _, path = url[len("ssh://"):].partition("/")
                    return ConnectorMatch(name="ssh", options={"host": host, "path": "/" + path})
                return None

        .. versionadded:: 0.1
        """

    # ---- events --------------------------------------------------------------------------
    # Implementations must return quickly and should not raise: the core delivers events
    # away from the scheduler and logs (then ignores) any exception, but a slow monitor
    # still delays the monitors after it.

    @hookspec
    def xpm_experiment_started(self, experiment: ExperimentView) -> None:
        """Called once when an experiment run starts, before its first job is submitted.

        :param experiment: the run (:class:`~xpm_core.plugin.events.ExperimentView`: id, run id, paths).

        Kind: broadcast (event).

        Example::

            @hookimpl
            def xpm_experiment_started(experiment):
                print(f"experiment {experiment.id} started in {experiment.run_dir}")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_job_state_changed(self, job: JobView, previous: JobState, current: JobState) -> None:
        """Called whenever a job moves from one state to another.

        :param job: the job (:class:`~xpm_core.plugin.events.JobView`: identifier, task id, path, ...).
        :param previous: the state it left (:class:`~xpm_core.plugin.job_state.JobState`).
        :param current: the state it entered.

        Kind: broadcast (event).

        Example::

            @hookimpl
            def xpm_job_state_changed(job, previous, current):
                if current is JobState.ERROR:
                    notify(f"{job.task_id}/{job.identifier} failed")

        .. versionadded:: 0.1
        """

    @hookspec
    def xpm_experiment_finished(self, experiment: ExperimentView, failed: bool) -> None:
        """Called once when an experiment run ends, after its last job ended or was left running.

        :param experiment: the run.
        :param failed: ``True`` when at least one job of the run ended in error.

        Kind: broadcast (event).

        Example::

            @hookimpl
            def xpm_experiment_finished(experiment, failed):
                print(f"{experiment.id}: {'failed' if failed else 'done'}")

        .. versionadded:: 0.1
        """
