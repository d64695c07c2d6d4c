"""experimaestro's ``experimaestro.core.identifier`` (porting by changing imports): identifiers."""

from xpm_core.config.identifier import Identifier

__all__ = ["Identifier"]
