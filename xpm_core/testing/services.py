"""A workspace whose run registered a real file server (``xp.add_service``), for monitors' tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

#: The plan: experiment ``served`` runs one task and registers the service ``files``, a
#: ``python -m http.server`` of a folder (``ProcessWebService``), stopped when the plan ends.
SERVED_PLAN = '''
import sys
from pathlib import Path
from xpm_core import Task, experiment
from xpm_core.scheduler.services import ProcessWebService, wait_for_port


class Files(ProcessWebService):
    id = "files"

    def __init__(self, directory: Path, port: int):
        super().__init__()
        self.directory, self.port = directory, port

    def description(self):
        return "the run's files"

    def state_dict(self):
        return {"directory": self.directory, "port": self.port}

    def _build_command(self):
        return [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
                "--directory", str(self.directory)]

    def _wait_for_ready(self):
        wait_for_port("127.0.0.1", self.port, process=self.process)
        return f"http://127.0.0.1:{self.port}/"


class Hello(Task):
    def execute(self):
        print("hello")


if __name__ == "__main__":
    with experiment(sys.argv[1], "served") as xp:
        Hello.C().submit()
        xp.add_service(Files(Path(sys.argv[3]), int(sys.argv[2])))
'''


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at the time of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url_answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def served_workspace(folder: Path) -> tuple[Path, int]:
    """Run :data:`SERVED_PLAN` in ``folder`` (a real driver): its workspace, and the port its
    service ``files`` listens on once started again (it serves ``folder/served/page.txt``)."""
    (folder / "plan.py").write_text(SERVED_PLAN)
    directory = folder / "served"
    directory.mkdir()
    (directory / "page.txt").write_text("served page")
    workspace, port = folder / "workspace", free_port()
    result = subprocess.run([sys.executable, str(folder / "plan.py"), str(workspace), str(port), str(directory)],
                            capture_output=True, text=True, cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr
    return workspace, port
