"""experimaestro's ``experimaestro.scheduler.workspace_state_provider`` (porting by changing imports)."""

from xpm_core.workspace.state_provider import WorkspaceStateProvider

__all__ = ["WorkspaceStateProvider"]
