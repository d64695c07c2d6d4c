"""experimaestro's ``experimaestro.core.arguments`` (porting by changing imports): parameter annotations."""

from typing import Annotated

from xpm_core.config.argument import Argument
from xpm_core.config.params import (
    Constant,
    DataPath,
    Meta,
    Option,
    OptionalDataPath,
    Param,
    TypeAnnotation,
    field,
    help,
)

__all__ = [
    "Annotated",
    "Argument",
    "Constant",
    "DataPath",
    "Meta",
    "Option",
    "OptionalDataPath",
    "Param",
    "TypeAnnotation",
    "field",
    "help",
]
