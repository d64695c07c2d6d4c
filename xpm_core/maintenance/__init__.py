"""Workspace and code maintenance behind the CLI: orphans, copies, parameter diffs, refactoring, doc checks."""
