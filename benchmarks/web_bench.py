"""Web monitor benchmark: server time of the jobs API and of a run's page on a large workspace,
the server's memory, and the time from a job's end to its new state reaching an open page.

The workspace is the index suite's generator (``benchmarks/suites/index.py``): N jobs of 10
tasks in 10 runs of experiment ``grid``, tagged lr, model, seed. The server is the real one,
``xpm experiments monitor --port`` in a child process; server times are read from its
``Server-Timing`` header (the time flask spent, without the network), the memory from
``/proc/PID/status``. The latency is measured as an open page sees it: from the index write
that ends a job to the page's refetch of the jobs API after the ``change`` event (the browser's
drawing, a few milliseconds, is not included). Needs xpm-web installed.

    python benchmarks/web_bench.py                 # 100,000 jobs
    python benchmarks/web_bench.py --size 10000 --repeat 3 --json
    python benchmarks/web_bench.py --workspace /tmp/web-ws   # generate once, reuse next time
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import types
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

# Appended, not prepended: an xpm_core given by PYTHONPATH (another branch's) is the one measured.
sys.path.append(str(Path(__file__).resolve().parents[1]))

GOALS = {"request_ms": 300.0, "memory_mib": 150.0, "latency_s": 1.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _index_api() -> types.SimpleNamespace:
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission

    return types.SimpleNamespace(WorkspaceIndex=WorkspaceIndex, JobSubmission=JobSubmission)



def workspace_of(size: int, folder: Path | None) -> Path:
    """The generated workspace of ``size`` jobs: in ``folder`` if given (reused when it holds one)."""
    from benchmarks.suites.index import reusable_workspace, synthetic_workspace

    if folder is not None and reusable_workspace(folder, size):
        print(f"reusing the workspace of {size} jobs in {folder}", file=sys.stderr)
        return folder
    built = time.perf_counter()
    workspace = synthetic_workspace(_index_api(), size)  # type: ignore[arg-type]
    print(f"workspace of {size} jobs built in {time.perf_counter() - built:.1f} s: {workspace}", file=sys.stderr)
    if folder is None:
        return workspace
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(workspace), str(folder))
    return folder


def _memory_mib(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return {"rss_mib": round(fields["VmRSS"], 1), "peak_rss_mib": round(fields["VmHWM"], 1)}


class Server:
    """``xpm experiments monitor --port`` on the workspace, in a child process."""

    def __init__(self, workspace: Path) -> None:
        xpm = Path(sys.executable).with_name("xpm")
        self.port = _free_port()
        self.process = subprocess.Popen([str(xpm), "experiments", "monitor", "--workdir", str(workspace),
                                         "--port", str(self.port)], stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        match = re.search(r"open (http://\S+)\?token=(\S+)", line)
        if not match:
            self.process.kill()
            raise SystemExit(f"the monitor did not print its URL: {line!r}")
        self.base = match.group(1).rstrip("/")
        self.token = match.group(2)

    def get(self, path: str) -> tuple[float, float, bytes]:
        """(server ms from Server-Timing, client ms, body) of a GET."""
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
            timing = response.headers.get("Server-Timing", "")
        client = (time.perf_counter() - started) * 1000
        server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
        return server, client, body

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _requests(run_id: str) -> dict[str, str]:
    quote = urllib.parse.quote
    return {
        "jobs API, first page of all jobs": "/api/jobs?limit=100",
        "jobs API, tag filter (model = \"bm25\")": "/api/jobs?limit=100&filter=" + quote('model = "bm25"'),
        "jobs API, sorted by a tag (lr)": "/api/jobs?limit=100&sort=tag:lr&order=asc",
        "jobs API, sorted by duration": "/api/jobs?limit=100&sort=duration",
        "jobs API, a run's first page (what the run page loads)": f"/api/jobs?experiment=grid&run={run_id}&limit=100",
        "jobs API, a run, page 50": f"/api/jobs?experiment=grid&run={run_id}&limit=100&offset=5000",
        "run page (HTML)": f"/experiments/grid/runs/{run_id}",
        "experiments API (workspace page)": "/api/experiments",
    }


def _latency(server: Server, workspace: Path, job_id: str, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds from the index write ending ``job_id`` to the page's ``change`` event, and to its
    refetched jobs showing the job done."""
    api = _index_api()
    results: list[float] = []
    events: list[float] = []
    request = urllib.request.Request(server.base + "/api/events", headers={"Authorization": f"Bearer {server.token}"})
    stream = urllib.request.urlopen(request, timeout=60)
    changes: list[float] = []
    arrived = threading.Event()

    def listen() -> None:
        try:
            for raw in stream:
                if raw.startswith(b"event: change"):
                    changes.append(time.perf_counter())
                    arrived.set()
        except (OSError, AttributeError, ValueError):
            pass  # the stream was closed at the end

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.5)
    for attempt in range(repeat):
        index = api.WorkspaceIndex(workspace)
        index.record_job_state(job_id, "running", started=time.time())
        index.close()
        arrived.wait(5)
        time.sleep(0.3)
        arrived.clear()
        index = api.WorkspaceIndex(workspace)
        started = time.perf_counter()
        index.record_job_state(job_id, "done", ended=time.time(), exit_code=0)
        index.close()
        if not arrived.wait(10):
            raise SystemExit("no change event within 10 s")
        events.append(changes[-1] - started)
        arrived.clear()
        _, _, body = server.get("/api/jobs?limit=100&sort=ended")  # what the page fetches on the event
        shown = {job["job_id"]: job["state"] for job in json.loads(body)["jobs"]}
        if shown.get(job_id) != "done":
            raise SystemExit(f"the refetched page does not show the job done: {shown.get(job_id)}")
        results.append(time.perf_counter() - started)
    stream.close()
    return events, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="jobs in the generated workspace")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests of each kind (median shown)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workspace", type=Path,
                        help="generate the workspace into this folder, or reuse the one it holds")
    options = parser.parse_args(argv)

    workspace = workspace_of(options.size, options.workspace)
    server = Server(workspace)
    figures: dict[str, Any] = {"size": options.size, "requests": {}}
    try:
        figures["memory_idle"] = _memory_mib(server.process.pid)
        run_id = "20260101_000009"
        for label, path in _requests(run_id).items():
            server.get(path)  # the first request of a kind warms the index pages
            times = [server.get(path) for _ in range(options.repeat)]
            figures["requests"][label] = {
                "server_ms": round(statistics.median(t[0] for t in times), 1),
                "client_ms": round(statistics.median(t[1] for t in times), 1),
                "path": path,
            }
            print(f"{label}: {figures['requests'][label]['server_ms']} ms", file=sys.stderr)
        figures["memory"] = _memory_mib(server.process.pid)
        running = f"{2:064x}"  # job 2 is running in the generated workspace (see job_state)
        events, latencies = _latency(server, workspace, running, options.repeat)
        figures["event_s"] = {"median": round(statistics.median(events), 3), "max": round(max(events), 3)}
        figures["latency_s"] = {"median": round(statistics.median(latencies), 3), "max": round(max(latencies), 3)}
        figures["memory_after_latency"] = _memory_mib(server.process.pid)
    finally:
        server.close()

    if options.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"\nxpm web monitor on {options.size:,} jobs (median of {options.repeat}; goal < "
          f"{GOALS['request_ms']:.0f} ms, < {GOALS['memory_mib']:.0f} MiB, < {GOALS['latency_s']:.0f} s)")
    width = max(len(label) for label in figures["requests"])
    for label, row in figures["requests"].items():
        verdict = "ok" if row["server_ms"] < GOALS["request_ms"] else "SLOW"
        print(f"  {label:<{width}}  server {row['server_ms']:8.1f} ms   client {row['client_ms']:8.1f} ms  {verdict}")
    print(f"  server memory when started: {figures['memory_idle']['rss_mib']} MiB resident")
    memory = figures["memory_after_latency"]
    print(f"  server memory: {memory['rss_mib']} MiB resident, peak {memory['peak_rss_mib']} MiB "
          f"({'ok' if memory['peak_rss_mib'] < GOALS['memory_mib'] else 'OVER'})")
    event = figures["event_s"]
    print(f"  job end -> change event on the page's stream: median {event['median']} s, max {event['max']} s")
    latency = figures["latency_s"]
    print(f"  job end -> open page (event + refetch of the jobs): median {latency['median']} s, max {latency['max']} s "
          f"({'ok' if latency['max'] < GOALS['latency_s'] else 'SLOW'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
