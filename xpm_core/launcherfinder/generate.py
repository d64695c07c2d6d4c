"""Writing a ``launchers.py`` for this machine: detect its cores, memory and GPUs, and render the file."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import time

import attrs

#: Seconds given to ``nvidia-smi`` to answer (a wedged driver must not hang the command).
NVIDIA_SMI_TIMEOUT = 20


@attrs.frozen
class Gpu:
    name: str
    memory: int  # bytes


@attrs.frozen
class DetectedHost:
    """What this machine offers to jobs."""

    cores: int
    memory: int  # bytes
    cuda: tuple[Gpu, ...] = ()
    mps: bool = False  # an Apple silicon GPU (its memory is the machine's)
    notes: tuple[str, ...] = ()  # what could not be detected, for the user


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return len(affinity(0))  # the cores this process may use (containers, taskset)
    return os.cpu_count() or 1


def _memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    try:  # macOS has no SC_PHYS_PAGES
        return int(subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, check=True).stdout)
    except (OSError, ValueError, subprocess.CalledProcessError):
        return 0


def _cuda_gpus() -> tuple[tuple[Gpu, ...], str | None]:
    """GPUs ``nvidia-smi`` lists (none without it), and a note when it failed."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return (), None
    try:
        result = subprocess.run(
            [executable, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (), f"nvidia-smi did not answer ({exc}): no CUDA GPU written"
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        return (), f"nvidia-smi failed ({message[0] if message else result.returncode}): no CUDA GPU written"
    gpus = []
    for line in result.stdout.splitlines():
        name, _, memory = line.rpartition(",")
        try:
            gpus.append(Gpu(name=name.strip(), memory=int(float(memory)) * 2**20))  # MiB
        except ValueError:
            return (), f"cannot read nvidia-smi's line {line!r}: no CUDA GPU written"
    return tuple(gpus), None


def detect_host() -> DetectedHost:
    """This machine's cores, memory, CUDA GPUs (through nvidia-smi) and Apple GPU."""
    cuda, note = _cuda_gpus()
    notes = [note] if note else []
    memory = _memory()
    if not memory:
        notes.append("the machine's memory could not be read: edit HOST's memory in the file")
    mps = sys.platform == "darwin" and platform.machine() == "arm64"
    return DetectedHost(cores=_cores(), memory=memory, cuda=cuda, mps=mps, notes=tuple(notes))


def gib(size: int) -> str:
    """A size for people: ``23.0 GiB``."""
    return f"{size / 2**30:.1f} GiB"


def _size(size: int) -> str:
    """A size as launchers.py reads it, exact and short."""
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def render_launchers(host: DetectedHost, *, memory_token: int, gpu_tokens: bool) -> str:
    """The text of ``launchers.py`` for ``host``.

    ``memory_token`` (bytes; 0: memory is not counted) is the unit in which jobs reserve memory;
    with ``gpu_tokens`` each job reserves as many units of a ``gpus`` token as it asks GPUs.
    Tokens live in the workspace of the experiment that submits the job.
    """
    accelerators = [
        f'CudaSpecification(memory="{_size(gpu.memory)}"),  # {gpu.name.encode("ascii", "replace").decode()}'
        for gpu in host.cuda
    ]
    if host.mps:
        accelerators.append(f'MPSSpecification(memory="{_size(host.memory)}"),  # Apple GPU (unified memory)')
    accelerator_lines = "".join(f"        {line}\n" for line in accelerators)
    accelerators_text = f"[\n{accelerator_lines}    ]" if accelerators else "[]"
    gpu_count = len(accelerators)
    memory_line = (
        f'parse_size("{_size(memory_token)}")' if memory_token else "0"
    )
    return f'''"""Launchers of this machine, written by `xpm launchers direct generate` on {socket.gethostname()}
({time.strftime("%Y-%m-%d %H:%M")}). Jobs run here with the direct launcher; the memory and GPUs they
ask for (find_launcher's requirement) are reserved with tokens, so that jobs running at once fit.
Edit freely: see docs/launchers.md.
"""

import math

from xpm_core import DirectLauncher, experiment
from xpm_core.launcherfinder import CPUSpecification, CudaSpecification, HostSpecification, MPSSpecification
from xpm_core.launcherfinder.units import parse_size

#: What this machine offers (detected).
HOST = HostSpecification(
    accelerators={accelerators_text},
    cpu=CPUSpecification(memory="{_size(host.memory // 2**20 * 2**20)}", cores={host.cores}),
)

#: Jobs reserve memory in units of this size (0: memory is not reserved).
MEMORY_TOKEN = {memory_line}
#: Whether jobs reserve the GPUs they ask for (one unit of the "gpus" token per GPU).
GPU_TOKENS = {bool(gpu_tokens) and gpu_count > 0}
GPU_COUNT = {gpu_count}


def _reserve(memory_units, gpus):
    """A submission listener taking the job's tokens in the submitting experiment's workspace."""

    def listener(job):
        xp = experiment.current()
        if memory_units:
            total = max(1, HOST.cpu.memory // MEMORY_TOKEN)
            job.dependencies.add(xp.token("memory", total).dependency(min(memory_units, total)))
        if gpus:
            job.dependencies.add(xp.token("gpus", GPU_COUNT).dependency(gpus))

    return listener


def find_launcher(requirement, tags):
    match = requirement.match(HOST)
    if match is None:
        return None  # more than this machine has
    needs = match.requirement
    memory_units = math.ceil(needs.cpu.memory / MEMORY_TOKEN) if MEMORY_TOKEN else 0
    gpus = len(needs.accelerators) if GPU_TOKENS else 0
    launcher = DirectLauncher()
    if memory_units or gpus:
        launcher.addListener(_reserve(memory_units, gpus))
    return launcher
'''
