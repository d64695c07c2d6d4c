"""Entry module of the kitchen-sink test plugin: one implementation of every hook, nothing heavy."""

from __future__ import annotations

from xpm_core import hookimpl
from xpm_core.plugin.components import (
    CommandType,
    ConnectorMatch,
    ConnectorType,
    LauncherType,
    MonitorType,
    SerializerType,
    SkillSectionType,
)

IMPL = "kitchen_sink._impl"

#: Events received, in order, so tests can check delivery.
EVENTS: list[tuple] = []


@hookimpl
def xpm_connectors():
    yield ConnectorType(name="kitchen", factory=f"{IMPL}:KitchenConnector", summary="A test connector")


@hookimpl
def xpm_launchers():
    yield LauncherType(
        name="kitchen",
        factory=f"{IMPL}:KitchenLauncher",
        settings=f"{IMPL}:KitchenSettings",
        summary="A test launcher",
    )


@hookimpl
def xpm_serializers():
    yield SerializerType(
        name="fraction",
        factory=f"{IMPL}:FractionSerializer",
        python_types=("fractions:Fraction",),
        summary="Fractions as numerator/denominator",
    )


@hookimpl
def xpm_monitors():
    yield MonitorType(name="kitchen", factory=f"{IMPL}:KitchenMonitor", summary="A test monitor")


@hookimpl
def xpm_commands():
    yield CommandType(name="kitchen", factory=f"{IMPL}:kitchen_command", summary="Kitchen tools")


@hookimpl
def xpm_skill_sections():
    yield SkillSectionType(name="kitchen", title="Kitchen tools", factory=f"{IMPL}:SKILL_SECTION")


@hookimpl
def xpm_connector_for_url(url):
    if url.startswith("kitchen://"):
        host, _, path = url[len("kitchen://") :].partition("/")
        return ConnectorMatch(name="kitchen", options={"host": host, "path": "/" + path})
    return None


@hookimpl
def xpm_experiment_started(experiment):
    EVENTS.append(("started", experiment.id))


@hookimpl
def xpm_job_state_changed(job, previous, current):
    EVENTS.append(("job", job.identifier, previous, current))


@hookimpl
def xpm_experiment_finished(experiment, failed):
    EVENTS.append(("finished", experiment.id, failed))
