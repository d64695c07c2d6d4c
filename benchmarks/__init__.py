"""Benchmark runner measuring xpm, optionally side by side with experimaestro 2.7.0."""
