"""The ``NAME.py`` script of a job: what launchers run, and what a user runs to redo a job by hand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable


def user_python_paths() -> list[str]:
    """Directories on the driver's ``sys.path`` that hold the user's code, not installed packages.

    The job process must import the modules that define the tasks, e.g. a project folder the
    driver script was started from; installed packages are found by the interpreter itself.
    """
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths = []
    for entry in sys.path:
        if not entry:
            continue
        path = Path(entry).resolve()
        if not path.is_dir() or any(base == path or base in path.parents for base in installed):
            continue
        if "site-packages" in path.parts or "dist-packages" in path.parts:
            continue
        paths.append(str(path))
    return list(dict.fromkeys(paths))


def job_script(python_paths: Iterable[str], launcher_code: str = "") -> str:
    """The content of ``NAME.py``; it finds its job directory from its own location.

    ``launcher_code`` (the launcher's ``launcher_info_code()``) runs before the task.
    """
    inserts = "".join(f"sys.path.insert(0, {path!r})\n" for path in reversed(list(python_paths)))
    if launcher_code.strip():
        inserts += "# from the launcher (launcher_info_code)\n" + launcher_code.rstrip("\n") + "\n"
    return (
        f"#!{sys.executable}\n"
        "# xpm job script: launchers run it; 'python NAME.py' runs the job again by hand.\n"
        "import sys\n"
        f"{inserts}"
        "from xpm_core.run import run_job\n"
        "\n"
        "run_job(__file__)\n"
    )
