"""The plugin API: everything a plugin needs, in one lazily imported place.

A plugin imports only from here and from the user-facing ``xpm_core`` package (plus
``xpm_core.testing`` in its tests). Names are imported on first use, so an entry module that
does ``from xpm_core.plugin import hookimpl, LauncherType`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpm_core.lazy_exports import lazy_getattr

_LAZY_EXPORTS: dict[str, str] = {
    # hooks and the descriptors registration hooks return
    "hookimpl": "xpm_core.plugin.hookspecs",
    "hookspec": "xpm_core.plugin.hookspecs",
    "XpmSpecs": "xpm_core.plugin.hookspecs",
    "PROJECT_NAME": "xpm_core.plugin.hookspecs",
    "ComponentType": "xpm_core.plugin.components",
    "ConnectorType": "xpm_core.plugin.components",
    "LauncherType": "xpm_core.plugin.components",
    "SerializerType": "xpm_core.plugin.components",
    "MonitorType": "xpm_core.plugin.components",
    "CommandType": "xpm_core.plugin.components",
    "SkillSectionType": "xpm_core.plugin.components",
    "ConnectorMatch": "xpm_core.plugin.components",
    "resolve": "xpm_core.plugin.components",
    # loading plugins, and the registry of the process
    "XpmPluginManager": "xpm_core.plugin.manager",
    "make_plugin_manager": "xpm_core.plugin.manager",
    "PluginLoadWarning": "xpm_core.plugin.manager",
    "PluginRecord": "xpm_core.plugin.manager",
    "PluginStatus": "xpm_core.plugin.manager",
    "ENTRY_POINT_GROUP": "xpm_core.plugin.manager",
    "LOAD_PLUGINS_ENV": "xpm_core.plugin.manager",
    "DISABLE_PLUGINS_ENV": "xpm_core.plugin.manager",
    "PluginRegistry": "xpm_core.plugin.registry",
    "Components": "xpm_core.plugin.registry",
    "UnknownComponentError": "xpm_core.plugin.registry",
    "UnhandledURLError": "xpm_core.plugin.registry",
    "get_registry": "xpm_core.plugin.registry",
    "install_registry": "xpm_core.plugin.registry",
    "use_registry": "xpm_core.plugin.registry",
    # events and job states
    "ExperimentView": "xpm_core.plugin.events",
    "JobView": "xpm_core.plugin.events",
    "JobState": "xpm_core.plugin.job_state",
    # the interfaces plugins implement, and their data types
    "Connector": "xpm_core.plugin.connector",
    "CommandResult": "xpm_core.plugin.connector",
    "CommandError": "xpm_core.plugin.connector",
    "ProcessInfo": "xpm_core.plugin.connector",
    "TreeEntry": "xpm_core.plugin.connector",
    "PathLike": "xpm_core.plugin.connector",
    "Launcher": "xpm_core.plugin.launcher",
    "JobLaunch": "xpm_core.plugin.launcher",
    "ProcessRef": "xpm_core.plugin.launcher",
    "ProcessState": "xpm_core.plugin.launcher",
    "ProcessStatus": "xpm_core.plugin.launcher",
    "default_max_running": "xpm_core.plugin.launcher",
    # what batch-system launchers share: gathering calls into arrays and rounds, paced submission
    "Gatherer": "xpm_core.plugin.batching",
    "Outcome": "xpm_core.plugin.batching",
    "SubmitError": "xpm_core.plugin.batching",
    "SubmitLimitReached": "xpm_core.plugin.batching",
    "SubmitPolicy": "xpm_core.plugin.batching",
    "SubmitThrottle": "xpm_core.plugin.batching",
    "describe_result": "xpm_core.plugin.batching",
    "Monitor": "xpm_core.plugin.monitor",
    "create_monitor": "xpm_core.plugin.monitor",
    "monitor_available": "xpm_core.plugin.monitor",
    "console_monitor_name": "xpm_core.plugin.monitor",
    "MonitorNotInstalledError": "xpm_core.plugin.monitor",
    "ValueSerializer": "xpm_core.plugin.value_serializer",
    "SerializationContext": "xpm_core.plugin.value_serializer",
    "DeserializationContext": "xpm_core.plugin.value_serializer",
    # reading and acting on a workspace (what monitors show: web UI, TUI, monitor-server)
    "WorkspaceAPI": "xpm_core.plugin.workspace",
    "WorkspaceAPIError": "xpm_core.plugin.workspace",
    "ExperimentSummary": "xpm_core.plugin.workspace",
    "RunSummary": "xpm_core.plugin.workspace",
    "JobSummary": "xpm_core.plugin.workspace",
    "JobPage": "xpm_core.plugin.workspace",
    "JobDetail": "xpm_core.plugin.workspace",
    "LogChunk": "xpm_core.plugin.workspace",
    "ActionOutcome": "xpm_core.plugin.workspace",
    "FilterSyntaxError": "xpm_core.plugin.workspace",
    "WorkspaceWarning": "xpm_core.plugin.workspace",
    # the same API over the monitor protocol (a remote workspace: ``xpm experiments ssh-monitor``)
    "RemoteWorkspace": "xpm_core.monitor_protocol.client",
    "MonitorProtocolError": "xpm_core.monitor_protocol.client",
    # settings a plugin reads (settings.yaml, the user's configuration directory)
    "load_settings": "xpm_core.settings.settings_file",
    "Settings": "xpm_core.settings.settings_file",
    "SettingsError": "xpm_core.settings.settings_file",
    "config_dir": "xpm_core.settings.directory",
    "launcher_options": "xpm_core.settings.launchers",
    "LauncherSettingsError": "xpm_core.settings.launchers",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - static analysers see real imports
    from xpm_core.monitor_protocol.client import MonitorProtocolError, RemoteWorkspace
    from xpm_core.plugin.batching import (
        Gatherer,
        Outcome,
        SubmitError,
        SubmitLimitReached,
        SubmitPolicy,
        SubmitThrottle,
        describe_result,
    )
    from xpm_core.plugin.components import (
        CommandType,
        ComponentType,
        ConnectorMatch,
        ConnectorType,
        LauncherType,
        MonitorType,
        SerializerType,
        SkillSectionType,
        resolve,
    )
    from xpm_core.plugin.connector import CommandError, CommandResult, Connector, PathLike, ProcessInfo, TreeEntry
    from xpm_core.plugin.events import ExperimentView, JobView
    from xpm_core.plugin.hookspecs import PROJECT_NAME, XpmSpecs, hookimpl, hookspec
    from xpm_core.plugin.job_state import JobState
    from xpm_core.plugin.launcher import (
        JobLaunch,
        Launcher,
        ProcessRef,
        ProcessState,
        ProcessStatus,
        default_max_running,
    )
    from xpm_core.plugin.manager import (
        DISABLE_PLUGINS_ENV,
        ENTRY_POINT_GROUP,
        LOAD_PLUGINS_ENV,
        PluginLoadWarning,
        PluginRecord,
        PluginStatus,
        XpmPluginManager,
        make_plugin_manager,
    )
    from xpm_core.plugin.monitor import (
        Monitor,
        MonitorNotInstalledError,
        console_monitor_name,
        create_monitor,
        monitor_available,
    )
    from xpm_core.plugin.registry import (
        Components,
        PluginRegistry,
        UnhandledURLError,
        UnknownComponentError,
        get_registry,
        install_registry,
        use_registry,
    )
    from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext, ValueSerializer
    from xpm_core.plugin.workspace import (
        ActionOutcome,
        ExperimentSummary,
        FilterSyntaxError,
        JobDetail,
        JobPage,
        JobSummary,
        LogChunk,
        RunSummary,
        WorkspaceAPI,
        WorkspaceAPIError,
        WorkspaceWarning,
    )
    from xpm_core.settings.directory import config_dir
    from xpm_core.settings.launchers import LauncherSettingsError, launcher_options
    from xpm_core.settings.settings_file import Settings, SettingsError, load_settings


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)


def __dir__() -> list[str]:
    return sorted(__all__)
