"""experimaestro's ``experimaestro.core.context`` (porting by changing imports): the serialization context."""

from xpm_core.serialization.context import (
    SerializationContext,
    SerializedPath,
    SerializedPathLoader,
    shallow_copy,
)

__all__ = ["SerializationContext", "SerializedPath", "SerializedPathLoader", "shallow_copy"]
