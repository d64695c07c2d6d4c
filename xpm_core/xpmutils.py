"""experimaestro's ``experimaestro.xpmutils`` (porting by changing imports): generation contexts."""

from xpm_core.config.generators import DirectoryContext
from xpm_core.config.generators import GenerationContext as EmptyContext

__all__ = ["DirectoryContext", "EmptyContext"]
