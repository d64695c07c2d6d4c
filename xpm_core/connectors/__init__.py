"""experimaestro's ``experimaestro.connectors`` (porting by changing imports): the connector base class."""

from xpm_core.plugin.connector import Connector
from xpm_core.plugin.launcher import ProcessState

__all__ = ["Connector", "ProcessState"]
