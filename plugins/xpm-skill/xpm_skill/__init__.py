"""xpm-skill: the agent skill that teaches coding assistants xpm, and ``xpm install-skill``."""

from __future__ import annotations

__version__ = "0.1.0"
