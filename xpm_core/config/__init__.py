"""The object model: configurations, tasks, parameters, identifiers and tags."""
