"""An experimaestro plan using progress, on_completed and a service runs unchanged, its progress shown while it runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cli_support import xpm

PLAN = Path(__file__).with_name("training_plan.py")


def test_the_ported_plan_runs_and_reports_its_progress(tmp_path: Path) -> None:
    shutil.copy(PLAN, tmp_path / PLAN.name)
    workspace = tmp_path / "ws"
    env = {**os.environ, "XPM_LOAD_PLUGINS": ""}
    driver = subprocess.Popen([sys.executable, PLAN.name, str(workspace), "12"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 90
        while driver.poll() is None and time.monotonic() < deadline:
            listing = xpm("jobs", "list", "--workdir", str(workspace)).stdout if workspace.exists() else ""
            seen.update(re.findall(r"RUNNING (\d+)%", listing))
            time.sleep(0.2)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, err
    # Progress between start and end was visible to another process while the job ran.
    assert any(0 < int(value) < 100 for value in seen), seen
    assert "results served at http://127.0.0.1:" in out
    assert "did not stop" not in err and "Warning" not in err, err  # the service stopped with the run
    assert "on_completed called 1 time(s)" in out

    listing = xpm("jobs", "list", "--workdir", str(workspace)).stdout
    # Train, then the Evaluate its callback submitted, each once.
    assert re.findall(r"^DONE\s+__main__\.(\w+)/", listing, flags=re.M) == ["evaluate", "train"], listing

    services = xpm("experiments", "services", "list", "ported", "--workdir", str(workspace), "--json")
    assert services.returncode == 0, services.stderr
    (service,) = [json.loads(line) for line in services.stdout.splitlines()]
    assert service["id"] == "results" and service["state"] == "STOPPED"
