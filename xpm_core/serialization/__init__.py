"""Writing and reading configurations: params.json v3, objects.jsonl, save/load."""
