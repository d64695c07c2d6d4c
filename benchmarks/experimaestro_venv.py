"""The virtual environment holding experimaestro 2.7.0, the baseline xpm is compared against."""

from __future__ import annotations

import collections
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

DEFAULT_VENV = Path(__file__).resolve().parent / ".venv-experimaestro"
VERSION = "2.7.0"
REQUIREMENT = f"experimaestro=={VERSION}"


class VenvError(Exception):
    """The experimaestro virtual environment could not be created or is unusable."""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_version(python: Path) -> Optional[str]:
    """experimaestro's version in the environment of ``python``, None when it is not installed."""
    try:
        process = subprocess.run(
            [
                str(python),
                "-c",
                "import importlib.metadata as m; print(m.version('experimaestro'))",
            ],
            capture_output=True,
            text=True,
        )
    except OSError:  # e.g. a venv whose base interpreter was removed: reinstalling will tell why
        return None
    return process.stdout.strip() if process.returncode == 0 else None


def ensure_experimaestro_venv(venv: Path, echo: Callable[[str], None]) -> Path:
    """Return the python of ``venv``, first creating it and installing experimaestro if needed."""
    python = venv_python(venv)
    if python.exists() and installed_version(python) == VERSION:
        return python

    if not python.exists():
        echo(f"Creating the virtual environment {venv} ...")
        run_step(
            [sys.executable, "-m", "venv", str(venv)],
            f"create the virtual environment {venv} (on Debian, python3-venv provides `venv`)",
            echo,
        )
    echo(f"Installing {REQUIREMENT} into {venv} (pip output follows) ...")
    run_step(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", REQUIREMENT],
        f"install {REQUIREMENT} into {venv}",
        echo,
    )
    version = installed_version(python)
    if version != VERSION:
        raise VenvError(
            f"{venv} should hold experimaestro {VERSION} after installation, found {version}"
        )
    echo(f"Installed {REQUIREMENT}; later runs reuse {venv}.")
    return python


def run_step(command: list[str], purpose: str, echo: Callable[[str], None]) -> None:
    """Run ``command``, echoing its output line by line as progress; raise VenvError if it fails."""
    # The tail goes into the error message: pip's reason for failing is at the end.
    tail: collections.deque[str] = collections.deque(maxlen=10)
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as error:
        raise VenvError(f"could not {purpose}: {error}") from error
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            line = line.rstrip()
            echo(f"  {line}")
            tail.append(line)
    if process.returncode != 0:
        details = "\n".join(f"  {line}" for line in tail)
        raise VenvError(
            f"could not {purpose}: `{shlex.join(command)}` exited with status "
            f"{process.returncode}; last output:\n{details}"
        )
