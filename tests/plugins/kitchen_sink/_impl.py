"""Implementation module of the kitchen-sink plugin; importing it must be deferred until use."""

from __future__ import annotations

from fractions import Fraction

import attrs
import click


@attrs.define
class KitchenSettings:
    sinks: int = attrs.field(default=1, metadata={"help": "How many sinks"})


@attrs.define
class KitchenConnector:
    host: str = "localhost"
    path: str = "/"


@attrs.define
class KitchenLauncher:
    settings: KitchenSettings = attrs.field(factory=KitchenSettings)


class FractionSerializer:
    def serialize(self, value: Fraction, context=None) -> dict:
        return {"type": "fraction", "value": [value.numerator, value.denominator]}

    def deserialize(self, data: dict, context=None) -> Fraction:
        return Fraction(*data["value"])


class KitchenMonitor:
    def close(self) -> None:
        pass


@click.group("kitchen")
def kitchen_command() -> None:
    """Kitchen tools."""


@kitchen_command.command()
@click.argument("what")
def wash(what: str) -> None:
    """Wash WHAT."""
    click.echo(f"washed {what}")


#: The reference section this plugin adds to the agent skill.
SKILL_SECTION = "# Kitchen tools\n\nThe kitchen launcher runs jobs in the kitchen.\n"
