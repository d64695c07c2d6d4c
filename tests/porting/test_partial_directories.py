"""Partial directories (reference B2): linked from the job folder, written by one job at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLAN = '''
import sys, time
from pathlib import Path
from xpm_core import Task, Param, Meta, field, PathGenerator, param_group, partial, experiment

iterations = param_group("iterations")


class Learn(Task):
    checkpoints = partial(exclude_groups=[iterations])
    size: Param[int]
    max_iter: Param[int] = field(groups=[iterations])
    ckpt: Meta[Path] = field(default_factory=PathGenerator("ckpt", partial=checkpoints))

    def execute(self):
        log = self.ckpt.parent / "writers.log"
        with log.open("a") as f:
            f.write(f"start {self.max_iter}\\n")
        time.sleep(0.5)
        with log.open("a") as f:
            f.write(f"end {self.max_iter}\\n")


if __name__ == "__main__":
    with experiment(sys.argv[1], "partials") as xp:
        tasks = [Learn.C(size=8, max_iter=n) for n in (10, 20, 30)]
        for task in tasks:
            task.submit()
    for task in tasks:
        print("job", task.__xpm__.job.path, task.ckpt.parent)
'''


def test_jobs_sharing_a_partial_directory_link_it_and_never_write_it_at_once(tmp_path):
    plan = tmp_path / "plan.py"
    plan.write_text(textwrap.dedent(PLAN))
    result = subprocess.run(
        [sys.executable, str(plan), str(tmp_path / "ws")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("job ")]
    partials = {partial for _, partial in lines}
    assert len(lines) == 3 and len(partials) == 1
    partial = Path(partials.pop())
    assert partial.parent.parent.name == "__main__.learn" and partial.parent.name == "checkpoints"
    for job_dir, _ in lines:
        link = Path(job_dir) / ".experimaestro" / "partials" / "checkpoints"
        assert link.is_symlink() and link.resolve() == partial.resolve()
    log = (partial / "writers.log").read_text().split("\n")[:-1]
    assert len(log) == 6
    for start, end in zip(log[::2], log[1::2]):
        assert start.startswith("start") and end == "end" + start[len("start"):], log
    assert (partial.parent / (partial.name + ".lock")).exists()
    assert sorted(os.listdir(partial)) == ["writers.log"]
