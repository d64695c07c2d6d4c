"""How an action asks its user questions: ``Interaction`` (the interface every front end implements)
and ``CLIInteraction`` (terminal prompts, answers given in advance with ``--set key=value``)."""

from __future__ import annotations

import abc
import sys
from typing import Mapping, Optional, Sequence

#: Answers ``checkbox`` reads as yes and as no (any case).
TRUE_WORDS = ("true", "yes", "y", "1", "on")
FALSE_WORDS = ("false", "no", "n", "0", "off")


class InteractionError(ValueError):
    """A question that cannot be answered: a given answer is not valid, or nobody can be asked."""


class Interaction(abc.ABC):
    """Questions an action asks; ``key`` names a question, so that its answer can be given in advance."""

    @abc.abstractmethod
    def choice(self, key: str, label: str, choices: Sequence[str]) -> str:
        """One of ``choices``."""

    @abc.abstractmethod
    def checkbox(self, key: str, label: str, *, default: bool = False) -> bool:
        """Yes or no."""

    @abc.abstractmethod
    def text(self, key: str, label: str, *, default: str = "") -> str:
        """A line of text."""


class CLIInteraction(Interaction):
    """Asks on the terminal, unless ``prefill`` (``--set key=value``) already holds the answer.

    :param interactive: whether questions may be asked (default: standard input is a terminal);
        a question that is neither prefilled nor askable is an :class:`InteractionError` that says
        which ``--set`` to give.
    """

    def __init__(self, prefill: Optional[Mapping[str, str]] = None, *, interactive: Optional[bool] = None) -> None:
        self._prefill = dict(prefill or {})
        self._interactive = sys.stdin.isatty() if interactive is None else interactive
        #: The keys of the questions asked so far (a prefilled key never asked is likely a typo).
        self.asked: list[str] = []

    def _given(self, key: str, label: str, hint: str) -> Optional[str]:
        self.asked.append(key)
        if key in self._prefill:
            return self._prefill[key]
        if not self._interactive:
            raise InteractionError(
                f"the action asks {label!r} (key {key!r}) and there is no terminal to answer: "
                f"give the answer with --set {key}={hint}"
            )
        return None

    def choice(self, key: str, label: str, choices: Sequence[str]) -> str:
        choices = [str(choice) for choice in choices]
        given = self._given(key, label, "|".join(choices))
        if given is not None:
            if given in choices:
                return given
            raise InteractionError(f"the value {given!r} given for {key!r} is not in choices: {', '.join(choices)}")
        import click

        click.echo(f"{label} (--set {key}=...)")
        for number, choice in enumerate(choices, 1):
            click.echo(f"  {number}) {choice}")
        while True:
            answer = click.prompt("Select", type=str).strip()
            if answer in choices:
                return answer
            if answer.isdigit() and 1 <= int(answer) <= len(choices):
                return choices[int(answer) - 1]
            click.echo(f"Answer a number from 1 to {len(choices)}, or one of the choices.")

    def checkbox(self, key: str, label: str, *, default: bool = False) -> bool:
        given = self._given(key, label, "true|false")
        if given is not None:
            word = given.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise InteractionError(
                f"the value {given!r} given for {key!r} is not a valid boolean (true/false, yes/no, 1/0)"
            )
        import click

        return bool(click.confirm(f"{label} (--set {key}=true|false)", default=default))

    def text(self, key: str, label: str, *, default: str = "") -> str:
        given = self._given(key, label, "...")
        if given is not None:
            return given
        import click

        return str(click.prompt(f"{label} (--set {key}=...)", default=default or None, type=str))
