"""``environment.json`` of a run: the Python, the installed packages and the code's git state."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xpm_core.runtime.experiment import experiment


def installed_packages() -> dict[str, str]:
    """Distribution name -> version, for every installed distribution."""
    from importlib.metadata import distributions

    return {dist.metadata["Name"]: dist.version for dist in distributions() if dist.metadata["Name"]}


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_projects(paths: list[str]) -> list[dict[str, Any]]:
    """Commit, branch and dirtiness of the git repositories holding ``paths``."""
    roots: dict[Path, None] = {}
    for entry in paths:
        path = Path(entry)
        root = next((p for p in (path, *path.parents) if (p / ".git").exists()), None)
        if root is not None:
            roots[root] = None
    projects = []
    for root in roots:
        commit = _git(root, "rev-parse", "HEAD")
        if commit is None:
            continue
        projects.append(
            {
                "path": str(root),
                "commit": commit,
                "commit_short": commit[:7],
                "branch": _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
                "dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
                "message": _git(root, "log", "-1", "--format=%s"),
            }
        )
    return projects


def environment_record(xp: experiment) -> dict[str, Any]:
    """What ``environment.json`` holds for the run of ``xp``."""
    from xpm_core.runtime.job_script import user_python_paths

    return {
        "python_version": sys.version.split()[0],
        "python": sys.executable,
        "packages": installed_packages(),
        "projects": git_projects(user_python_paths()),
        "run": {"hostname": socket.gethostname(), "started_at": xp.started_at, "argv": sys.argv},
    }
