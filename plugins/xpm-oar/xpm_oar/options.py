"""OAR job options (``OarOptions``): what a job asks OAR for, rendered as ``#OAR`` directives."""

from __future__ import annotations

import math
from typing import Any, Union

import attrs


def format_walltime(seconds: float) -> str:
    """A duration as OAR's ``H:MM:SS`` walltime (seconds rounded up)."""
    total = math.ceil(seconds)
    if total <= 0:
        raise ValueError(f"an OAR walltime must be positive, not {seconds!r} seconds")
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def parse_walltime(text: str) -> int:
    """OAR's walltime (``H:MM:SS``, ``H:MM`` or ``H``) in seconds."""
    parts = [int(part) for part in str(text).strip().split(":")]
    if not 1 <= len(parts) <= 3 or any(part < 0 for part in parts):
        raise ValueError(f"an OAR walltime is H:MM:SS, H:MM or H, not {text!r}")
    parts += [0] * (3 - len(parts))
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _walltime(value: Union[str, int, float, None]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("an OAR walltime is a string ('2:00:00') or a number of seconds, not a bool")
    if isinstance(value, str):
        parse_walltime(value)  # checked now: a typo fails at configuration, not at oarsub
        return value
    return format_walltime(value)


def _line(value: Any) -> str | None:
    """A directive value: one line (``#OAR`` directives end at the end of the line)."""
    if value is None:
        return None
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"an OAR option value must be on one line, not {text!r}")
    return text


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        # One string is one item ("besteffort", "--hold"): splitting on spaces would break
        # values that contain them.
        return (value,)
    return tuple(str(item) for item in value or ())


@attrs.frozen(kw_only=True)
class OarOptions:
    """What a job asks OAR for; ``None`` leaves the cluster's default.

    ``OarOptions(resources="host=1/core=4", walltime="2:00:00", queue="production")``.
    """

    #: ``-l``: the resource hierarchy, e.g. ``nodes=1/core=4`` or ``host=1/gpu=2``.
    resources: str | None = attrs.field(default=None, converter=_line)
    #: Wall-time limit, added to ``-l``: ``"2:00:00"`` or a number of seconds.
    walltime: str | None = attrs.field(default=None, converter=_walltime)
    #: ``-q``: the queue (``default``, ``besteffort``, ``production`` ...).
    queue: str | None = attrs.field(default=None, converter=_line)
    #: ``-p``: an SQL filter on resource properties, e.g. ``gpu_model = 'A100'``.
    properties: str | None = attrs.field(default=None, converter=_line)
    #: ``--project``.
    project: str | None = attrs.field(default=None, converter=_line)
    #: ``-t``: job types, e.g. ``["besteffort", "idempotent"]``, ``container=ID``, ``deploy``.
    types: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    #: ``-n``: a name prefix; xpm adds the job's name and a unique suffix.
    name: str | None = attrs.field(default=None, converter=_line)
    #: ``--notify``: e.g. ``mail:me@example.org``.
    notification: str | None = attrs.field(default=None, converter=_line)
    #: ``--checkpoint``: seconds before the walltime at which OAR signals the job, so that a
    #: resumable task stops cleanly and is resubmitted.
    checkpoint: int | None = attrs.field(default=None, converter=_optional_int)
    #: ``--signal``: the checkpoint signal (default 15, SIGTERM, which xpm's job process handles).
    signal: int | None = attrs.field(default=None, converter=_optional_int)
    #: Further oarsub arguments, verbatim (``["--hold"]``), given on the command line.
    extra: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The option names accepted by ``OarOptions(...)`` and ``launcher.config(...)``."""
        return tuple(field.name for field in attrs.fields(cls))

    @classmethod
    def check_names(cls, names: Any) -> None:
        """Raise a ``TypeError`` naming the first unknown option and listing the known ones."""
        unknown = sorted(set(names) - set(cls.field_names()))
        if unknown:
            raise TypeError(
                f"unknown OAR option(s) {', '.join(map(repr, unknown))}; known options: "
                f"{', '.join(cls.field_names())} (put other oarsub arguments in extra=[...])"
            )

    def merge(self, **changes: Any) -> OarOptions:
        """A copy where the values given in ``changes`` replace the current ones.

        ``None`` and empty lists mean "not given", so defaults from settings (where every field
        exists) never erase options set explicitly.
        """
        self.check_names(changes)
        given = {key: value for key, value in changes.items() if value is not None and value != [] and value != ()}
        return attrs.evolve(self, **given)

    @property
    def besteffort(self) -> bool:
        return "besteffort" in self.types or self.queue == "besteffort"

    def resource_request(self) -> str | None:
        """The ``-l`` value: resources and walltime (``host=1/core=4,walltime=2:00:00``)."""
        parts = [part for part in (self.resources, self.walltime and f"walltime={self.walltime}") if part]
        return ",".join(parts) or None

    def directives(self) -> list[str]:
        """The ``#OAR`` lines for these options (the job name and outputs are added by the script)."""
        lines = []
        request = self.resource_request()
        if request:
            lines.append(f"-l {request}")
        for flag, value in (
            ("-q", self.queue),
            ("-p", self.properties),
            ("--project", self.project),
            ("--notify", self.notification),
        ):
            if value is not None:
                lines.append(f"{flag} {value}")
        lines += [f"-t {kind}" for kind in self.types]
        if self.checkpoint is not None:
            lines.append(f"--checkpoint {self.checkpoint}")
            # OAR's own default checkpoint signal is SIGUSR2, which would kill the job process
            # without its markers; SIGTERM is the one xpm's job process turns into a clean stop.
            lines.append(f"--signal {self.signal if self.signal is not None else 15}")
        elif self.signal is not None:
            lines.append(f"--signal {self.signal}")
        return lines

    def key(self) -> tuple[str, ...]:
        """What tells jobs that may share an array (the same directives and arguments)."""
        return (*self.directives(), "|", self.name or "", *self.extra)

    @classmethod
    def from_requirement(cls, requirement: Any, *, memory_property: str | None = None) -> OarOptions:
        """Options asking OAR for what a ``find_launcher`` requirement needs.

        Cores become ``host=1/core=N``, GPUs ``host=1/gpu=N`` (which brings their cores),
        the duration the walltime; memory becomes ``memory_property >= MiB`` in ``-p`` when the
        cluster has such a property (Grid'5000: ``memnode``), and is otherwise left out. For a
        union of alternatives, the first one is used.
        """
        simple = requirement.requirements[0] if hasattr(requirement, "requirements") else requirement
        gpus = len(simple.accelerators)
        cores = simple.cpu.cores
        # OAR hands out GPUs with their cores: asking for cores below the GPUs would mean
        # "N cores per GPU", so cores are asked for only when no GPU is.
        if gpus:
            resources: str | None = f"host=1/gpu={gpus}"
        elif cores:
            resources = f"host=1/core={cores}"
        else:
            resources = None
        properties = None
        if memory_property and simple.cpu.memory:
            properties = f"{memory_property} >= {math.ceil(simple.cpu.memory / 2**20)}"
        walltime = format_walltime(simple.duration) if simple.duration else None
        return cls(resources=resources, walltime=walltime, properties=properties)
