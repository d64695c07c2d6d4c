"""``environment.json`` of a run: the Python, the installed packages and the code's git state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xpm_core.runtime.experiment import experiment



def packages_cache() -> Path:
    """The cache of installed packages of this interpreter: ``$XDG_CACHE_HOME/xpm`` (~/.cache/xpm)."""
    import hashlib

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xpm"
    digest = hashlib.sha256(sys.executable.encode()).hexdigest()[:16]
    return root / f"packages-{digest}.json"


def installed_packages(cache: Path | None = None) -> dict[str, str]:
    """Distribution name -> version, for every installed distribution.

    Reading every distribution's metadata costs tens of milliseconds, paid by every run: with
    ``cache`` (a JSON file), the list is reused while the folders of ``sys.path`` are unchanged
    (installing, upgrading or removing a package changes the modification time of its folder).
    """
    key = _packages_key()
    if cache is not None:
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if cached.get("key") == key and isinstance(cached.get("packages"), dict):
                return cached["packages"]
        except (OSError, ValueError, AttributeError):
            pass
    from importlib.metadata import distributions

    packages = {dist.metadata["Name"]: dist.version for dist in distributions() if dist.metadata["Name"]}
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"key": key, "packages": packages}), encoding="utf-8")
            os.replace(temporary, cache)
        except OSError:
            pass  # a cache only: the next run reads the metadata again
    return packages


def _packages_key() -> list[Any]:
    """What the installed packages depend on: the interpreter and the mtime of each folder of
    sys.path where packages are installed (site-packages; not the user's folders, which change
    all the time)."""
    entries: list[Any] = [sys.executable]
    for entry in sys.path:
        if not any(part in ("site-packages", "dist-packages") for part in Path(entry).parts):
            continue
        try:
            entries.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            continue
    return entries


def _git(root: Path, *args: str) -> subprocess.Popen[str] | None:
    """``git -C root ARGS`` started (not waited for), or None when git cannot be run."""
    try:
        return subprocess.Popen(["git", "-C", str(root), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def _output(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return out.strip() if process.returncode == 0 else None


def git_projects(paths: list[str]) -> list[dict[str, Any]]:
    """Commit, branch and dirtiness of the git repositories holding ``paths``."""
    roots: dict[Path, None] = {}
    for entry in paths:
        path = Path(entry)
        root = next((p for p in (path, *path.parents) if (p / ".git").exists()), None)
        if root is not None:
            roots[root] = None
    # Two commands per repository, all started at once (they were four, one after the other):
    # `status --porcelain=v2 --branch` tells the commit, the branch and whether files changed.
    started = {
        root: (_git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=no"),
               _git(root, "log", "-1", "--format=%s"))
        for root in roots
    }
    projects = []
    for root, (status_process, log_process) in started.items():
        status, message = _output(status_process), _output(log_process)
        if status is None:
            continue
        headers = dict(line[2:].partition(" ")[::2] for line in status.splitlines() if line.startswith("# "))
        commit = headers.get("branch.oid", "(initial)")
        if commit == "(initial)":
            continue  # no commit yet
        branch = headers.get("branch.head")
        projects.append(
            {
                "path": str(root),
                "commit": commit,
                "commit_short": commit[:7],
                "branch": "HEAD" if branch == "(detached)" else branch,
                "dirty": any(not line.startswith("#") for line in status.splitlines()),
                "message": message,
            }
        )
    return projects


def environment_record(xp: experiment) -> dict[str, Any]:
    """What ``environment.json`` holds for the run of ``xp``."""
    from xpm_core.runtime.job_script import user_python_paths

    return {
        "python_version": sys.version.split()[0],
        "python": sys.executable,
        "packages": installed_packages(packages_cache()),
        "projects": git_projects([str(path) for path in xp.keywords.project_paths or []] or user_python_paths()),
        "run": {"hostname": socket.gethostname(), "started_at": xp.started_at, "argv": sys.argv},
    }
