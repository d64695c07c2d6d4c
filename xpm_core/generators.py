"""experimaestro's ``experimaestro.generators`` (porting by changing imports): path generators."""

from xpm_core.config.generators import Generator, PathGenerator, pathgenerator

__all__ = ["Generator", "PathGenerator", "pathgenerator"]
