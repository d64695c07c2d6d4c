"""ConnectorContract: the behaviour every connector (local, SSH, ...) shows, run against the real host."""

from __future__ import annotations

import threading
from pathlib import PurePosixPath
from typing import ClassVar

import pytest

from xpm_core.plugin.connector import Connector
from xpm_core.testing.contract_base import Contract


class ConnectorContract(Contract):
    """Subclass as ``TestSshConnector(ConnectorContract)``; set ``connector_name``.

    Override ``make_connector`` when the connector needs options (host, port, key), and
    ``remote_workdir`` when the host does not see the test's temporary directory.
    """

    connector_name: ClassVar[str]
    #: A location ``xpm_connector_for_url`` must send to this connector, if it claims any.
    url_example: ClassVar[str | None] = None

    def make_connector(self) -> Connector:
        return self.registry.connectors()[self.connector_name].create()

    def remote_workdir(self, tmp_path) -> PurePosixPath:
        return PurePosixPath(tmp_path) / "host"

    @pytest.fixture
    def connector(self) -> Connector:
        return self.make_connector()

    @pytest.fixture
    def workdir(self, connector: Connector, tmp_path) -> PurePosixPath:
        path = self.remote_workdir(tmp_path)
        connector.mkdir(path)
        return path

    def test_is_registered_and_rebuilt_from_its_spec(self, connector: Connector) -> None:
        components = self.registry.connectors()
        assert self.connector_name in components
        rebuilt = components[self.connector_name].create(**connector.to_spec())
        assert rebuilt.to_spec() == connector.to_spec()
        assert rebuilt.hostname == connector.hostname and connector.hostname

    def test_files_round_trip(self, connector: Connector, workdir: PurePosixPath) -> None:
        path = workdir / "deep" / "er" / "file.txt"
        connector.mkdir(path.parent)
        connector.mkdir(path.parent)  # creating it again is fine
        assert not connector.exists(path)
        connector.write_text(path, "première ligne\n")
        connector.write_text(path, "remplacée\n")
        assert connector.read_text(path) == "remplacée\n"
        assert connector.listdir(path.parent) == ["file.txt"]  # no temporary file left behind
        connector.rename(path, path.with_name("moved.txt"))
        assert connector.listdir(path.parent) == ["moved.txt"]
        assert connector.read_text(path.with_name("moved.txt")) == "remplacée\n"
        connector.rename(path.with_name("moved.txt"), path)
        connector.remove(path)
        connector.remove(path)  # removing it again is fine
        assert not connector.exists(path)
        with pytest.raises(FileNotFoundError):
            connector.read_text(path)

    def test_read_files_reads_many_small_files_at_once(self, connector: Connector, workdir) -> None:
        connector.write_text(workdir / "job.done", "")
        connector.write_text(workdir / "job.failed", '{"reason": "timeout"}\n')
        connector.write_text(workdir / "odd name 'q'.pid", "ünïcode\n")
        paths = [workdir / "job.done", workdir / "job.failed", workdir / "missing.pid",
                 workdir / "odd name 'q'.pid", workdir / "no-such-dir" / "x.done"]
        assert connector.read_files(paths) == {
            str(workdir / "job.done"): "",
            str(workdir / "job.failed"): '{"reason": "timeout"}\n',
            str(workdir / "missing.pid"): None,
            str(workdir / "odd name 'q'.pid"): "ünïcode\n",
            str(workdir / "no-such-dir" / "x.done"): None,
        }
        assert connector.read_files([]) == {}

    def test_trees_are_walked_streamed_and_removed(self, connector: Connector, workdir) -> None:
        tree = workdir / "tree"
        connector.mkdir(tree / "sub" / "deeper")
        payload = bytes(range(256)) * 4096  # 1 MiB, every byte value: streams are binary
        try:
            with connector.open_write(tree / "sub" / "data.bin") as stream:
                for start in range(0, len(payload), 65536):
                    stream.write(payload[start:start + 65536])
            with connector.open_write(tree / "run.sh", executable=True) as stream:
                stream.write(b"#!/bin/sh\necho streamed\n")
        except NotImplementedError:
            pytest.skip(f"the {self.connector_name} connector does not stream files")
        connector.symlink("sub/data.bin", tree / "link")
        entries = {entry.path: entry for entry in connector.walk(tree)}
        assert sorted(entries) == ["link", "run.sh", "sub", "sub/data.bin", "sub/deeper"]
        assert [entry.path for entry in connector.walk(tree)].index("sub") < list(entries).index("sub/data.bin")
        assert (entries["sub"].kind, entries["sub/deeper"].kind) == ("directory", "directory")
        assert (entries["sub/data.bin"].kind, entries["sub/data.bin"].size) == ("file", len(payload))
        assert (entries["run.sh"].executable, entries["sub/data.bin"].executable) == (True, False)
        assert (entries["link"].kind, entries["link"].target) == ("symlink", "sub/data.bin")
        with connector.open_read(tree / "sub" / "data.bin") as stream:
            read = b"".join(iter(lambda: stream.read(65536), b""))
        assert read == payload
        assert connector.run([str(tree / "run.sh")]).stdout == "streamed\n"
        with pytest.raises(FileNotFoundError):
            connector.walk(workdir / "nowhere")
        connector.remove_tree(tree)
        connector.remove_tree(tree)  # removing it again is fine
        assert not connector.exists(tree)

    def test_executable_files_run(self, connector: Connector, workdir: PurePosixPath) -> None:
        script = workdir / "hello.sh"
        connector.write_text(script, "#!/bin/sh\necho hello from $0\n", executable=True)
        result = connector.run([str(script)])
        assert (result.returncode, result.stdout) == (0, f"hello from {script}\n")

    def test_symlinks_are_replaced(self, connector: Connector, workdir: PurePosixPath) -> None:
        for name in ("a", "b"):
            connector.mkdir(workdir / name)
            connector.write_text(workdir / name / "x", name)
            connector.symlink(name, workdir / "current")
            assert connector.read_text(workdir / "current" / "x") == name

    def test_run_captures_code_output_environment(self, connector: Connector, workdir) -> None:
        result = connector.run(
            ["sh", "-c", 'echo "$XPM_CONTRACT $(pwd)"; cat; echo oops >&2; exit 3'],
            cwd=workdir,
            env={"XPM_CONTRACT": "value"},
            input="from stdin\n",
        )
        assert result.returncode == 3
        assert result.stdout == f"value {workdir}\nfrom stdin\n"
        assert result.stderr == "oops\n"

    def test_run_times_out(self, connector: Connector) -> None:
        with pytest.raises(TimeoutError):
            connector.run(["sleep", "10"], timeout=0.5)

    def test_spawned_process_is_followed(self, connector: Connector, workdir) -> None:
        pid, start = connector.spawn(
            ["sh", "-c", 'echo "$XPM_CONTRACT"; echo err >&2; sleep 0.5; exit 4'],
            cwd=workdir,
            env={"XPM_CONTRACT": "spawned"},
            stdout=workdir / "job.out",
            stderr=workdir / "job.err",
        )
        assert connector.process_info(pid, start).running
        self.until(lambda: not connector.process_info(pid, start).running, "the process to end")
        assert connector.process_info(pid, start).exit_code in (4, None)
        assert connector.read_text(workdir / "job.out") == "spawned\n"
        assert connector.read_text(workdir / "job.err") == "err\n"

    def test_a_reused_pid_is_not_mistaken_for_the_job(self, connector: Connector, workdir) -> None:
        pid, start = connector.spawn(
            ["sleep", "30"], cwd=workdir, env={}, stdout=workdir / "o", stderr=workdir / "e"
        )
        try:
            if start is None:
                pytest.skip("this host gives no process start stamps")
            assert not connector.process_info(pid, start + "0").running
        finally:
            connector.kill(pid, force=True)

    def test_kill_stops_the_whole_process_group(self, connector: Connector, workdir) -> None:
        pid, start = connector.spawn(
            ["sh", "-c", "sleep 60 & echo $! > child.pid; wait"],
            cwd=workdir,
            env={},
            stdout=workdir / "o",
            stderr=workdir / "e",
        )
        # The shell creates the file before it writes the pid: wait for a whole line.
        self.until(
            lambda: connector.exists(workdir / "child.pid")
            and connector.read_text(workdir / "child.pid").endswith("\n"),
            "the child to start",
        )
        child = int(connector.read_text(workdir / "child.pid"))
        connector.kill(pid)
        self.until(lambda: not connector.process_info(pid, start).running, "the process to stop")
        self.until(lambda: not connector.process_info(child, None).running, "its child to stop")

    def test_lock_is_exclusive(self, connector: Connector, workdir) -> None:
        path = workdir / "job.lock"
        taken = threading.Event()
        release = threading.Event()

        def holder() -> None:
            with connector.lock(path):
                taken.set()
                release.wait(self.patience)

        thread = threading.Thread(target=holder)
        thread.start()
        try:
            assert taken.wait(self.patience)
            with pytest.raises(TimeoutError):
                with connector.lock(path, timeout=0.3):
                    pass
        finally:
            release.set()
            thread.join()
        with connector.lock(path, timeout=self.patience):
            pass

    def test_url_dispatch(self) -> None:
        if self.url_example is None:
            pytest.skip("this connector claims no URL scheme")
        assert self.registry.connector_for_url(self.url_example).name == self.connector_name
