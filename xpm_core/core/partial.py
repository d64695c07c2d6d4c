"""experimaestro's ``experimaestro.core.partial`` (porting by changing imports): partial identifiers."""

from xpm_core.config.partial import ParameterGroup, Partial, param_group, partial

__all__ = ["ParameterGroup", "Partial", "param_group", "partial"]
