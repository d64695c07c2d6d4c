"""The workspace's warnings (stale token holders) on the experiments page and in the JSON API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys


def test_a_stale_token_holder_is_shown_with_its_fix(client, fake_workspace):
    assert client.get("/api/warnings").get_json() == {"warnings": []}
    assert 'class="warning"' not in client.get("/").get_data(as_text=True)

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)  # a driver that has ended
    job = fake_workspace / "jobs" / "pkg.Train" / ("a" * 64)  # its job left no pid file: ended too
    holders = fake_workspace / ".xpm" / "tokens" / "gpu" / "holders"
    holders.mkdir(parents=True)
    (holders / f"{'a' * 64}.json").write_text(json.dumps(
        {"count": 1, "job": str(job), "name": "Train", "driver": [socket.gethostname(), dead_pid, None]}))

    [warning] = client.get("/api/warnings").get_json()["warnings"]
    assert warning["key"] == f"stale-token:gpu:{'a' * 64}"
    assert warning["actions"] == [f"xpm cleanup --workdir {fake_workspace}"]
    page = client.get("/").get_data(as_text=True)
    assert "token &#39;gpu&#39;: 1 unit(s) still held for job pkg.Train/aaaa" in page
    assert f"<code>xpm cleanup --workdir {fake_workspace}</code>" in page
