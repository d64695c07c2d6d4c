"""Built-in plugin: the value serializers of params.json (paths, enumerations)."""
