"""experimaestro's ``experimaestro.connectors.local`` (porting by changing imports): the local connector."""

from xpm_core.builtin.local.connector import LocalConnector

__all__ = ["LocalConnector"]
