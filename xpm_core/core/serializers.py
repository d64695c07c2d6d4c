"""experimaestro's ``experimaestro.core.serializers`` (porting by changing imports): serialization init tasks."""

from xpm_core.config.serializer_tasks import PathSerializationLWTask, SerializationLWTask

__all__ = ["PathSerializationLWTask", "SerializationLWTask"]
