"""The core runs the connector and launcher contracts against its own local connector and direct launcher."""

from __future__ import annotations

import asyncio
import signal
import sys
from fractions import Fraction
from http import HTTPStatus
from pathlib import Path, PurePosixPath

import pytest

from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.plugin.launcher import ProcessRef, ProcessStatus
from xpm_core.plugin.manager import make_plugin_manager
from xpm_core.plugin.registry import PluginRegistry
from xpm_core.testing import ConnectorContract, LauncherContract, SerializerContract


class TestLocalConnector(ConnectorContract):
    connector_name = "local"
    url_example = "file:///scratch/experiments"


class TestConnectorDefaults(ConnectorContract):
    """The ``Connector`` base class's own ``read_files``, ``walk`` (GNU find) and ``remove_tree``,
    which a connector that does not override them gets."""

    connector_name = "local"

    def make_connector(self):
        from xpm_core.builtin.local.connector import LocalConnector
        from xpm_core.plugin.connector import Connector

        class WithDefaults(LocalConnector):
            read_files = Connector.read_files
            walk = Connector.walk
            remove_tree = Connector.remove_tree

        return WithDefaults()


class TestDirectLauncher(LauncherContract):
    launcher_name = "direct"


class TestPathSerializer(SerializerContract):
    serializer_name = "path"
    examples = (Path("/data/corpus/train.tsv"), Path("/"), PurePosixPath("/scratch/run 1"))

    def same(self, original, restored):
        return Path(restored) == Path(original)  # read back as a concrete Path


class TestEnumSerializer(SerializerContract):
    serializer_name = "enum"
    examples = (HTTPStatus.OK, signal.Signals.SIGTERM)


class TestPluginSerializer(SerializerContract):
    """A third-party serializer (the kitchen-sink test plugin's fractions), through the registry."""

    serializer_name = "fraction"
    examples = (Fraction(1, 3), Fraction(-7, 2))

    def make_registry(self):
        plugins = str(Path(__file__).parent / "plugins")  # where the test plugins live
        if plugins not in sys.path:
            sys.path.insert(0, plugins)
        from kitchen_sink import plugin as kitchen

        return PluginRegistry(make_plugin_manager(load_entrypoints=False, extra_plugins=[("kitchen", kitchen)]))


def test_direct_launcher_cap_defaults_to_the_cpu_count():
    import os

    assert DirectLauncher().max_running == (os.cpu_count() or 1)
    assert DirectLauncher(max_running=3).max_running == 3
    with pytest.raises(ValueError, match="max_running must be at least 1, not 0"):
        DirectLauncher(max_running=0)


def test_experimaestro_pid_files_are_read():
    ref = ProcessRef.from_json({"type": "local", "pid": 1234, "host": "node1"})
    assert (ref.launcher, ref.id, ref.host, dict(ref.connector)) == ("direct", "1234", "node1", {"name": "local"})
    with pytest.raises(ValueError, match="process file lacks the key 'pid'"):
        ProcessRef.from_json({"type": "local"})


def test_a_job_outlives_its_driver(tmp_path):
    """Killing the driver (here: a child Python that submitted the job) leaves the job running."""
    import json
    import subprocess

    driver = f"""
import asyncio, json, sys
from pathlib import PurePosixPath
from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.plugin.launcher import JobLaunch
job = JobLaunch(job_id="x", task_id="t", directory=PurePosixPath({str(tmp_path)!r}), name="job",
                command=[sys.executable, "-c", "import time; time.sleep(1); open('survived', 'w').close()"])
ref = asyncio.run(DirectLauncher().submit(job))
print(json.dumps(ref.to_json()))
"""
    out = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, check=True).stdout
    ref = ProcessRef.from_json(json.loads(out))
    launcher = DirectLauncher()
    state = asyncio.run(asyncio.wait_for(launcher.wait(ref), 30))
    assert state.status is ProcessStatus.FINISHED
    assert (tmp_path / "survived").exists()
