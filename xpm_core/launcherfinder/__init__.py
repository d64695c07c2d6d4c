"""The launcher finder: requirement specs, host specifications, and ``find_launcher`` over launchers.py."""

from xpm_core.launcherfinder.finder import (
    LauncherNotFoundError,
    LaunchersFileError,
    config_directory,
    find_launcher,
)
from xpm_core.launcherfinder.grammar import RequirementSpecError, parse
from xpm_core.launcherfinder.registry import LauncherRegistry
from xpm_core.launcherfinder.specs import (
    AcceleratorKind,
    AcceleratorSpecification,
    CPUSpecification,
    CudaSpecification,
    HostRequirement,
    HostSimpleRequirement,
    HostSpecification,
    MatchRequirement,
    MPSSpecification,
    RequirementUnion,
    cpu,
    cuda,
    cuda_gpu,
    duration,
    gpu,
    mps,
    mps_gpu,
)

__all__ = [
    "AcceleratorKind",
    "AcceleratorSpecification",
    "CPUSpecification",
    "CudaSpecification",
    "HostRequirement",
    "HostSimpleRequirement",
    "HostSpecification",
    "LauncherNotFoundError",
    "LauncherRegistry",
    "LaunchersFileError",
    "MPSSpecification",
    "MatchRequirement",
    "RequirementSpecError",
    "RequirementUnion",
    "config_directory",
    "cpu",
    "cuda",
    "cuda_gpu",
    "duration",
    "find_launcher",
    "gpu",
    "mps",
    "mps_gpu",
    "parse",
]
