"""Checker annotations: ``Annotated[T, Choices([...])]`` checks a parameter's value when it is set."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterable

from xpm_core.config.params import TypeAnnotation


class Checker(TypeAnnotation, ABC):
    """Base class of value checkers placed in ``Annotated[T, checker]``."""

    @abstractmethod
    def check(self, value: Any) -> bool:
        """Whether ``value`` is acceptable."""

    def __str__(self) -> str:
        return type(self).__qualname__


class Choices(Checker):
    """The value must equal one of ``choices``."""

    def __init__(self, choices: Iterable[Any]) -> None:
        self.choices = list(choices)

    def check(self, value: Any) -> bool:
        return any(value == choice for choice in self.choices)

    def __str__(self) -> str:
        return "value in " + ", ".join(str(choice) for choice in self.choices)
