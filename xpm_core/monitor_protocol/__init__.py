"""The monitor protocol: a workspace's :class:`~xpm_core.plugin.WorkspaceAPI` over JSON-RPC 2.0 on a byte stream.

``xpm experiments monitor-server WORKSPACE`` answers it on stdin/stdout (:mod:`.server`);
:class:`~xpm_core.monitor_protocol.client.RemoteWorkspace` is the client, with the methods of
``WorkspaceAPI`` (:mod:`.client`). The protocol is documented in ``docs/monitor_protocol.md``.
"""

from __future__ import annotations

#: The protocol's name and version, checked by ``hello`` before anything else. Bump VERSION on
#: any change a client of the previous version would misread.
PROTOCOL = "xpm-monitor"
VERSION = 1

#: JSON-RPC error codes: the standard ones, and the protocol's own.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
WORKSPACE_ERROR = -32000  # WorkspaceAPIError: unknown job, no such workspace ... (data.type names it)
FILTER_SYNTAX_ERROR = -32001  # FilterSyntaxError: a --filter expression that does not parse

#: The WorkspaceAPI methods the protocol exposes (params by name, as the Python methods take them).
METHODS = ("experiments", "runs", "jobs", "job", "tags", "dependencies", "log", "kill", "clean", "change_token",
           "services", "warnings", "actions")
