"""experimaestro's ``experimaestro.checkers`` (porting by changing imports): checker annotations."""

from xpm_core.config.checkers import Checker, Choices

__all__ = ["Checker", "Choices"]
