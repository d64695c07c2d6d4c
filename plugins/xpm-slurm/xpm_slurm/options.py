"""Slurm job options (``SlurmOptions``): the resources asked for, rendered as sbatch arguments."""

from __future__ import annotations

from typing import Any, Union

import attrs


def format_time(seconds: float) -> str:
    """A duration in sbatch's ``D-HH:MM:SS`` form (seconds are rounded up: Slurm counts minutes)."""
    total = int(-(-seconds // 1))
    if total <= 0:
        raise ValueError(f"a Slurm time limit must be positive, not {seconds!r} seconds")
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def _time(value: Union[str, int, float, None]) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("a Slurm time limit is a string ('2:00:00') or a number of seconds, not a bool")
    return format_time(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _extra(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        # One argument given as a string is the common case ("--exclusive"); splitting it on
        # spaces would break values containing spaces, so a string is one argument.
        return (value,)
    return tuple(str(item) for item in value or ())


@attrs.frozen(kw_only=True)
class SlurmOptions:
    """What a job asks Slurm for; ``None`` leaves the cluster's default.

    Each field becomes ``--kebab-case=value`` (``cpus_per_task`` -> ``--cpus-per-task``), in
    field order; ``extra`` holds further sbatch arguments, verbatim (``["--exclusive"]``).
    """

    nodes: int | None = attrs.field(default=None, converter=_optional_int)
    #: Wall-time limit: ``"2:00:00"``, ``"1-12:00:00"``, or a number of seconds.
    time: str | None = attrs.field(default=None, converter=_time)
    partition: str | None = attrs.field(default=None, converter=_optional_str)
    account: str | None = attrs.field(default=None, converter=_optional_str)
    qos: str | None = attrs.field(default=None, converter=_optional_str)
    constraint: str | None = attrs.field(default=None, converter=_optional_str)
    mem: str | None = attrs.field(default=None, converter=_optional_str)
    mem_per_gpu: str | None = attrs.field(default=None, converter=_optional_str)
    cpus_per_task: int | None = attrs.field(default=None, converter=_optional_int)
    ntasks_per_node: int | None = attrs.field(default=None, converter=_optional_int)
    gpus: str | None = attrs.field(default=None, converter=_optional_str)
    gpus_per_node: str | None = attrs.field(default=None, converter=_optional_str)
    exclude: str | None = attrs.field(default=None, converter=_optional_str)
    nodelist: str | None = attrs.field(default=None, converter=_optional_str)
    extra: tuple[str, ...] = attrs.field(default=(), converter=_extra)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The option names accepted by ``SlurmOptions(...)`` and ``launcher.config(...)``."""
        return tuple(field.name for field in attrs.fields(cls))

    @classmethod
    def check_names(cls, names: Any) -> None:
        """Raise a ``TypeError`` naming the first unknown option and listing the known ones."""
        unknown = sorted(set(names) - set(cls.field_names()))
        if unknown:
            raise TypeError(
                f"unknown Slurm option(s) {', '.join(map(repr, unknown))}; known options: "
                f"{', '.join(cls.field_names())} (put other sbatch arguments in extra=[...])"
            )

    def merge(self, **changes: Any) -> SlurmOptions:
        """A copy where the values given in ``changes`` replace the current ones.

        ``None`` and an empty ``extra`` mean "not given", so defaults from settings (where every
        field exists) never erase options set explicitly.
        """
        self.check_names(changes)
        given = {
            key: value
            for key, value in changes.items()
            if value is not None and not (key == "extra" and not value)
        }
        return attrs.evolve(self, **given)

    def sbatch_arguments(self) -> list[str]:
        """The sbatch command-line arguments for these options."""
        arguments = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name == "extra" or value is None:
                continue
            arguments.append(f"--{field.name.replace('_', '-')}={value}")
        arguments.extend(self.extra)
        return arguments
