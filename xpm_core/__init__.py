"""xpm core: the public API, imported lazily so that ``import xpm_core`` costs almost nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.lazy_exports import lazy_getattr

__version__ = "0.1.0"

# Public name -> module that defines it. Job processes import xpm_core once per job, so
# nothing is imported until a name is first used (PEP 562 module __getattr__).
_LAZY_EXPORTS: dict[str, str] = {
    # plugin system
    "hookimpl": "xpm_core.plugin.hookspecs",
    "ConnectorType": "xpm_core.plugin.components",
    "LauncherType": "xpm_core.plugin.components",
    "SerializerType": "xpm_core.plugin.components",
    "MonitorType": "xpm_core.plugin.components",
    "CommandType": "xpm_core.plugin.components",
    "PluginRegistry": "xpm_core.plugin.registry",
    "make_plugin_manager": "xpm_core.plugin.manager",
    "get_registry": "xpm_core.plugin.registry",
    "make_cli": "xpm_core.cli",
    "JobState": "xpm_core.plugin.job_state",
    # running experiments
    "experiment": "xpm_core.runtime.experiment",
    "RunMode": "xpm_core.runtime.experiment",
    "GracefulTimeout": "xpm_core.runtime.errors",
    "GracefulExperimentExit": "xpm_core.runtime.exits",
    "FailedExperiment": "xpm_core.runtime.exits",
    "Workspace": "xpm_core.runtime.workspace_object",
    "set_launcher": "xpm_core.runtime.workspace_object",
    "TaskCancelled": "xpm_core.runtime.errors",
    "progress": "xpm_core.runtime.task_progress",
    "tqdm": "xpm_core.runtime.task_progress",
    "TransientMode": "xpm_core.runtime.job",
    "Prepare": "xpm_core.runtime.prepare",
    "Launcher": "xpm_core.plugin.launcher",
    "Connector": "xpm_core.plugin.connector",
    "DirectLauncher": "xpm_core.builtin.local.direct_launcher",
    "LocalConnector": "xpm_core.builtin.local.connector",
    # launcher finder (launchers.py)
    "find_launcher": "xpm_core.launcherfinder.finder",
    "LauncherNotFoundError": "xpm_core.launcherfinder.finder",
    "LauncherRegistry": "xpm_core.launcherfinder.registry",
    # object model (configurations, tasks, identifiers, tags)
    "Config": "xpm_core.config.objects",
    "InstanceConfig": "xpm_core.config.objects",
    "LightweightTask": "xpm_core.config.objects",
    "Task": "xpm_core.config.objects",
    "ResumableTask": "xpm_core.config.objects",
    "copyconfig": "xpm_core.config.objects",
    "setmeta": "xpm_core.config.objects",
    "sealed_set": "xpm_core.config.objects",
    "Param": "xpm_core.config.params",
    "Meta": "xpm_core.config.params",
    "Option": "xpm_core.config.params",
    "Constant": "xpm_core.config.params",
    "field": "xpm_core.config.params",
    "help": "xpm_core.config.params",
    "tag": "xpm_core.config.tags",
    "tags": "xpm_core.config.tags",
    "tagspath": "xpm_core.config.tags",
    "stop_tags": "xpm_core.config.tags",
    "TagDict": "xpm_core.config.tags",
    "PathGenerator": "xpm_core.config.generators",
    "DirectoryContext": "xpm_core.config.generators",
    "param_group": "xpm_core.config.partial",
    "partial": "xpm_core.config.partial",
    "deprecate": "xpm_core.config.deprecation",
    "Identifier": "xpm_core.config.identifier",
    "ParameterGroup": "xpm_core.config.partial",
    "Partial": "xpm_core.config.partial",
    "Annotated": "typing",
    "Any": "typing",
    "Path": "pathlib",
    "DataPath": "xpm_core.config.params",
    "OptionalDataPath": "xpm_core.config.params",
    "Choices": "xpm_core.config.checkers",
    "pathgenerator": "xpm_core.config.generators",
    "STDOUT": "xpm_core.config.generators",
    "STDERR": "xpm_core.config.generators",
    "cache": "xpm_core.config.methods",
    "initializer": "xpm_core.config.methods",
    "Array": "xpm_core.config.annotations",
    "config_only": "xpm_core.config.annotations",
    "SubmitHook": "xpm_core.config.submit_hooks",
    "DependentMarker": "xpm_core.config.objects",
    "SerializationContext": "xpm_core.serialization.context",
    "SerializationLWTask": "xpm_core.config.serializer_tasks",
    "PathSerializationLWTask": "xpm_core.config.serializer_tasks",
    "Job": "xpm_core.runtime.job",
    "Scheduler": "xpm_core.runtime.scheduler",
    "DirtyGitAction": "xpm_core.experiments.schema",
    "DirtyGitError": "xpm_core.runtime.dirty_git",
    "ValueSerializer": "xpm_core.plugin.value_serializer",
    # serialization
    "save": "xpm_core.serialization.files",
    "load": "xpm_core.serialization.files",
    "state_dict": "xpm_core.serialization.files",
    "from_state_dict": "xpm_core.serialization.files",
    "serialize": "xpm_core.serialization.files",
    "deserialize": "xpm_core.serialization.files",
    "from_task_dir": "xpm_core.serialization.params",
    "load_xp_info": "xpm_core.serialization.experiment_info",
    "load_configs": "xpm_core.serialization.experiment_info",
    "ExperimentInfo": "xpm_core.serialization.experiment_info",
    # actions, run later from the CLI (services: xpm_core.scheduler.services, as in experimaestro)
    "Action": "xpm_core.actions.action",
    "Interaction": "xpm_core.actions.interaction",
    "CLIInteraction": "xpm_core.actions.interaction",
    # workspace index and its read API
    "WorkspaceStateProvider": "xpm_core.workspace.state_provider",
    "WorkspaceIndex": "xpm_core.workspace.index",
    "JobSubmission": "xpm_core.workspace.records",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - static analysers see real imports
    from pathlib import Path
    from typing import Annotated, Any

    from xpm_core.actions.action import Action
    from xpm_core.actions.interaction import CLIInteraction, Interaction
    from xpm_core.builtin.local.connector import LocalConnector
    from xpm_core.builtin.local.direct_launcher import DirectLauncher
    from xpm_core.cli import make_cli
    from xpm_core.config.annotations import Array, config_only
    from xpm_core.config.checkers import Choices

    # object model and serialization
    from xpm_core.config.deprecation import deprecate
    from xpm_core.config.generators import STDERR, STDOUT, DirectoryContext, PathGenerator, pathgenerator
    from xpm_core.config.identifier import Identifier
    from xpm_core.config.methods import cache, initializer
    from xpm_core.config.objects import (
        Config,
        DependentMarker,
        InstanceConfig,
        LightweightTask,
        ResumableTask,
        Task,
        copyconfig,
        sealed_set,
        setmeta,
    )
    from xpm_core.config.params import Constant, DataPath, Meta, Option, OptionalDataPath, Param, field, help
    from xpm_core.config.partial import ParameterGroup, Partial, param_group, partial
    from xpm_core.config.serializer_tasks import PathSerializationLWTask, SerializationLWTask
    from xpm_core.config.submit_hooks import SubmitHook
    from xpm_core.config.tags import TagDict, stop_tags, tag, tags, tagspath
    from xpm_core.experiments.schema import DirtyGitAction
    from xpm_core.launcherfinder.finder import LauncherNotFoundError, find_launcher
    from xpm_core.launcherfinder.registry import LauncherRegistry
    from xpm_core.plugin.components import (
        CommandType,
        ConnectorType,
        LauncherType,
        MonitorType,
        SerializerType,
    )
    from xpm_core.plugin.connector import Connector
    from xpm_core.plugin.hookspecs import hookimpl
    from xpm_core.plugin.job_state import JobState
    from xpm_core.plugin.launcher import Launcher
    from xpm_core.plugin.manager import make_plugin_manager
    from xpm_core.plugin.registry import PluginRegistry, get_registry
    from xpm_core.plugin.value_serializer import ValueSerializer
    from xpm_core.runtime.dirty_git import DirtyGitError
    from xpm_core.runtime.errors import GracefulTimeout, TaskCancelled
    from xpm_core.runtime.exits import FailedExperiment, GracefulExperimentExit
    from xpm_core.runtime.experiment import RunMode, experiment
    from xpm_core.runtime.job import Job, TransientMode
    from xpm_core.runtime.prepare import Prepare
    from xpm_core.runtime.scheduler import Scheduler
    from xpm_core.runtime.task_progress import progress, tqdm
    from xpm_core.runtime.workspace_object import Workspace, set_launcher
    from xpm_core.serialization.context import SerializationContext
    from xpm_core.serialization.experiment_info import ExperimentInfo, load_configs, load_xp_info
    from xpm_core.serialization.files import (
        deserialize,
        from_state_dict,
        load,
        save,
        serialize,
        state_dict,
    )
    from xpm_core.serialization.params import from_task_dir
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission
    from xpm_core.workspace.state_provider import WorkspaceStateProvider


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)


def __dir__() -> list[str]:
    return sorted(__all__)
