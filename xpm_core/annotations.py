"""experimaestro's ``experimaestro.annotations`` (porting by changing imports): decorators and tag helpers."""

from xpm_core.config.annotations import Array, config_only
from xpm_core.config.deprecation import deprecate
from xpm_core.config.generators import STDERR, STDOUT
from xpm_core.config.methods import cache, initializer
from xpm_core.config.tags import TagDict, stop_tags, tag, tags, tagspath

__all__ = [
    "Array",
    "STDERR",
    "STDOUT",
    "TagDict",
    "cache",
    "config_only",
    "deprecate",
    "initializer",
    "stop_tags",
    "tag",
    "tags",
    "tagspath",
]
