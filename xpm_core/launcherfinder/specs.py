"""What a task requires (requirements) and what a host offers (host specifications), and matching."""

from __future__ import annotations

import abc
import enum
import itertools
import math
from typing import ClassVar, Iterable

import attrs

from xpm_core.launcherfinder.units import format_duration, format_size, parse_duration, parse_size


class AcceleratorKind(str, enum.Enum):
    """The kinds of accelerators; a generic request (``gpu(...)``) is served by any kind."""

    CUDA = "cuda"  # NVIDIA GPUs, with their own memory
    MPS = "mps"  # Apple silicon, whose GPU memory is the host's memory
    GENERIC = "generic"


#: The spec keyword of each kind (``gpu(...)`` asks for a generic accelerator).
SPEC_KEYWORDS: dict[AcceleratorKind, str] = {
    AcceleratorKind.CUDA: "cuda",
    AcceleratorKind.MPS: "mps",
    AcceleratorKind.GENERIC: "gpu",
}


def _by_memory(accelerators: Iterable[AcceleratorSpecification]) -> tuple[AcceleratorSpecification, ...]:
    # Largest memory first, on hosts and in requirements alike: matching pairs them in this order.
    return tuple(sorted(accelerators, key=lambda accelerator: -accelerator.memory))


# ---- host specifications ---------------------------------------------------------------------


@attrs.frozen
class AcceleratorSpecification:
    """An accelerator: on a host, a device it has; in a requirement, one device that is needed.

    Sizes are bytes; strings with a unit (``"24GiB"``) are read too.
    """

    memory: int = attrs.field(default=0, converter=parse_size)
    model: str = ""
    #: On a host: requests for less memory are refused (keeps big GPUs for big jobs).
    min_memory: int = attrs.field(default=0, converter=parse_size)

    kind: ClassVar[AcceleratorKind] = AcceleratorKind.GENERIC
    #: True when the device memory is the host's memory: it then counts in the CPU memory budget.
    unified_memory: ClassVar[bool] = False

    def match(self, requested: AcceleratorSpecification) -> bool:
        """Whether this host accelerator can serve the ``requested`` one."""
        if requested.kind is not AcceleratorKind.GENERIC and requested.kind is not self.kind:
            return False
        return self.min_memory <= requested.memory <= self.memory


@attrs.frozen
class CudaSpecification(AcceleratorSpecification):
    """An NVIDIA CUDA GPU; as a requirement (``cuda(...)``), only CUDA GPUs serve it."""

    kind: ClassVar[AcceleratorKind] = AcceleratorKind.CUDA


@attrs.frozen
class MPSSpecification(AcceleratorSpecification):
    """An Apple silicon GPU (Metal), whose memory is shared with the CPU."""

    kind: ClassVar[AcceleratorKind] = AcceleratorKind.MPS
    unified_memory: ClassVar[bool] = True


@attrs.frozen
class CPUSpecification:
    """CPU memory (bytes, or a string with a unit) and cores, of a host or of a requirement."""

    memory: int = attrs.field(default=0, converter=parse_size)
    cores: int = 0

    def match(self, requested: CPUSpecification) -> bool:
        """Whether this host CPU has at least the ``requested`` memory and cores."""
        return self.memory >= requested.memory and self.cores >= requested.cores


@attrs.frozen(init=False)
class HostSpecification:
    """What a host (or a Slurm partition, an OAR queue...) offers, for ``requirement.match(host)``."""

    #: Every accelerator of the host, largest memory first.
    accelerators: tuple[AcceleratorSpecification, ...]
    cpu: CPUSpecification
    #: The score of a match on this host; a launchers.py compares hosts by it (higher is better).
    priority: float
    #: The longest job the host accepts, in seconds (a string with a unit is read too); 0: no limit.
    max_duration: int
    #: Requirements asking for fewer accelerators than this do not match (e.g. a GPU-only partition).
    min_gpu: int

    def __init__(
        self,
        *,
        accelerators: Iterable[AcceleratorSpecification] = (),
        cuda: Iterable[CudaSpecification] = (),
        cpu: CPUSpecification | None = None,
        priority: float = 0,
        max_duration: int | float | str = 0,
        min_gpu: int = 0,
    ) -> None:
        # ``cuda=[...]`` is how experimaestro's launchers.py files list GPUs: they are accelerators.
        self.__attrs_init__(
            accelerators=_by_memory([*accelerators, *cuda]),
            cpu=CPUSpecification() if cpu is None else cpu,
            priority=priority,
            max_duration=parse_duration(max_duration),
            min_gpu=min_gpu,
        )

    @property
    def cuda(self) -> tuple[AcceleratorSpecification, ...]:
        """The host's CUDA GPUs (experimaestro's name)."""
        return tuple(a for a in self.accelerators if a.kind is AcceleratorKind.CUDA)


# ---- requirements ----------------------------------------------------------------------------


@attrs.frozen
class MatchRequirement:
    """A successful match: its score (the host's priority) and the alternative that matched."""

    score: float
    requirement: HostSimpleRequirement


class HostRequirement(abc.ABC):
    """What a task needs from a host: alternatives in priority order, combined with ``|``."""

    @property
    @abc.abstractmethod
    def requirements(self) -> tuple[HostSimpleRequirement, ...]:
        """The alternatives, in priority order."""

    @abc.abstractmethod
    def match(self, host: HostSpecification) -> MatchRequirement | None:
        """How well ``host`` serves this requirement, or ``None`` if it cannot."""

    @abc.abstractmethod
    def multiply_duration(self, coefficient: float) -> HostRequirement:
        """The same requirement with every duration multiplied by ``coefficient`` (rounded up)."""

    def __or__(self, other: HostRequirement) -> RequirementUnion:
        if not isinstance(other, HostRequirement):
            return NotImplemented
        return RequirementUnion(self, other)


@attrs.frozen
class HostSimpleRequirement(HostRequirement):
    """One alternative: CPU memory and cores, accelerators, and a duration (all at least)."""

    cpu: CPUSpecification = attrs.field(factory=CPUSpecification)
    #: The accelerators needed, largest memory first.
    accelerators: tuple[AcceleratorSpecification, ...] = attrs.field(default=(), converter=_by_memory)
    #: Seconds (a string with a unit is read too); 0 when no duration was given.
    duration: int = attrs.field(default=0, converter=parse_duration)

    @property
    def requirements(self) -> tuple[HostSimpleRequirement, ...]:
        return (self,)

    @property
    def cuda_gpus(self) -> tuple[AcceleratorSpecification, ...]:
        """The CUDA GPUs needed (experimaestro's name, used by its launchers.py files)."""
        return tuple(a for a in self.accelerators if a.kind is AcceleratorKind.CUDA)

    def __and__(self, other: HostSimpleRequirement) -> HostSimpleRequirement:
        """Both at once: the larger CPU memory, cores and duration, and all the accelerators."""
        if not isinstance(other, HostSimpleRequirement):
            return NotImplemented
        return HostSimpleRequirement(
            cpu=CPUSpecification(
                memory=max(self.cpu.memory, other.cpu.memory),
                cores=max(self.cpu.cores, other.cpu.cores),
            ),
            accelerators=self.accelerators + other.accelerators,
            duration=max(self.duration, other.duration),
        )

    def __mul__(self, count: int) -> HostSimpleRequirement:
        """The accelerators ``count`` times (``cuda(mem=4G) * 2`` is two GPUs)."""
        if not isinstance(count, int) or isinstance(count, bool):
            return NotImplemented
        if count < 1:
            raise ValueError(f"an accelerator count must be at least 1, not {count}")
        return attrs.evolve(self, accelerators=self.accelerators * count)

    __rmul__ = __mul__

    def match(self, host: HostSpecification) -> MatchRequirement | None:
        if len(host.accelerators) < len(self.accelerators):
            return None
        # Largest request against largest device, and so on down both lists.
        pairs = list(zip(host.accelerators, self.accelerators))
        if not all(device.match(requested) for device, requested in pairs):
            return None
        if len(self.accelerators) < host.min_gpu:
            return None
        if not host.cpu.match(self.cpu):
            return None
        # On unified memory (Apple silicon) the GPU memory comes out of the host's memory, whether
        # the request said mps(...) or gpu(...).
        shared = sum(requested.memory for device, requested in pairs if device.unified_memory)
        if shared and self.cpu.memory + shared > host.cpu.memory:
            return None
        if host.max_duration > 0 and self.duration > host.max_duration:
            return None
        return MatchRequirement(score=host.priority, requirement=self)

    def multiply_duration(self, coefficient: float) -> HostSimpleRequirement:
        return attrs.evolve(self, duration=math.ceil(self.duration * coefficient))

    def __str__(self) -> str:
        """The requirement as a spec, e.g. ``duration=4d & cuda(mem=4G) * 2 & cpu(cores=4)``."""
        items = []
        if self.duration:
            items.append(f"duration={format_duration(self.duration)}")
        for accelerator, group in itertools.groupby(self.accelerators):
            memory = f"mem={format_size(accelerator.memory)}" if accelerator.memory else ""
            count = len(list(group))
            repeat = f" * {count}" if count > 1 else ""
            items.append(f"{SPEC_KEYWORDS[accelerator.kind]}({memory}){repeat}")
        arguments = []
        if self.cpu.memory:
            arguments.append(f"mem={format_size(self.cpu.memory)}")
        if self.cpu.cores:
            arguments.append(f"cores={self.cpu.cores}")
        if arguments:
            items.append(f"cpu({', '.join(arguments)})")
        return " & ".join(items) or "(no requirement)"


@attrs.frozen(init=False)
class RequirementUnion(HostRequirement):
    """Alternatives in priority order (``a | b``); a host is matched by its best-scoring one."""

    requirements: tuple[HostSimpleRequirement, ...]

    def __init__(self, *requirements: HostRequirement) -> None:
        # A union of unions is the union of all their alternatives, in order.
        alternatives = tuple(alternative for each in requirements for alternative in each.requirements)
        if not alternatives:
            raise ValueError("a requirement union needs at least one alternative")
        self.__attrs_init__(requirements=alternatives)

    def match(self, host: HostSpecification) -> MatchRequirement | None:
        best = None
        for alternative in self.requirements:
            match = alternative.match(host)
            # Strictly greater: on equal scores the earlier alternative (higher priority) stays.
            if match is not None and (best is None or match.score > best.score):
                best = match
        return best

    def multiply_duration(self, coefficient: float) -> RequirementUnion:
        return RequirementUnion(*(each.multiply_duration(coefficient) for each in self.requirements))

    def __str__(self) -> str:
        return " | ".join(str(alternative) for alternative in self.requirements)


# ---- building requirements in Python ---------------------------------------------------------


def cpu(*, mem: str | int | None = None, cores: int | None = None) -> HostSimpleRequirement:
    """CPU memory and cores, as ``cpu(mem=..., cores=...)`` in a spec; cores default to 1."""
    if mem is None and cores is None:
        raise ValueError("cpu() needs mem= or cores=, e.g. cpu(cores=4) or cpu(mem='8G')")
    if cores is not None and cores < 1:
        raise ValueError(f"cpu(cores=...) must be at least 1, not {cores}")
    return HostSimpleRequirement(cpu=CPUSpecification(memory=0 if mem is None else mem, cores=cores or 1))


def cuda(*, mem: str | int | None = None) -> HostSimpleRequirement:
    """One CUDA GPU with at least ``mem`` memory (``cuda(mem=...)``); multiply for more."""
    return HostSimpleRequirement(accelerators=[CudaSpecification(memory=mem or 0)])


def mps(*, mem: str | int | None = None) -> HostSimpleRequirement:
    """One Apple silicon GPU with at least ``mem`` (unified) memory (``mps(mem=...)``)."""
    return HostSimpleRequirement(accelerators=[MPSSpecification(memory=mem or 0)])


def gpu(*, mem: str | int | None = None) -> HostSimpleRequirement:
    """One accelerator of any kind with at least ``mem`` memory (``gpu(mem=...)``)."""
    return HostSimpleRequirement(accelerators=[AcceleratorSpecification(memory=mem or 0)])


def duration(timespec: str | int | float) -> HostSimpleRequirement:
    """A job duration: seconds, or a string with a unit (``"4h"``, ``"2 days"``)."""
    return HostSimpleRequirement(duration=parse_duration(timespec))


#: experimaestro's names for the accelerator constructors.
cuda_gpu = cuda
mps_gpu = mps
