"""The workspace index ``WS/.xpm/index.db``: a SQLite copy of the files' state, for fast queries.

Files are the truth (docs/workspace.md). Drivers record events here as they happen (``writes``);
readers query it through one query object (``queries.JobQuery``). A missing, stale (other
schema version, ``schema``) or corrupt index is rebuilt from the files (``rebuild``), with one
log line, and never makes a caller fail (``connection``). Markers win over the index, checked
when a job is read (``markers``); corrections are written back.
"""

from xpm_core.workspace.index.connection import DEFAULT_BUSY_TIMEOUT, NETWORK_FILESYSTEMS
from xpm_core.workspace.index.queries import SORTS, JobLine, JobQuery, JobSelection
from xpm_core.workspace.index.schema import SCHEMA_VERSION
from xpm_core.workspace.index.tags import tag_columns
from xpm_core.workspace.index.workspace_index import (
    INDEX_DIR,
    INDEX_FILE,
    StateLike,
    Timestamp,
    WorkspaceIndex,
    index_path,
    rebuild,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "INDEX_DIR",
    "INDEX_FILE",
    "NETWORK_FILESYSTEMS",
    "SCHEMA_VERSION",
    "SORTS",
    "JobLine",
    "JobQuery",
    "JobSelection",
    "StateLike",
    "Timestamp",
    "WorkspaceIndex",
    "index_path",
    "rebuild",
    "tag_columns",
]
