"""The monitor protocol's server: answers JSON-RPC 2.0 requests, one per line, about one workspace.

Requests are read from a binary input and answered in order on a binary output, one compact
JSON object per line. Between requests a watcher thread sends ``changed`` notifications when
the workspace's change token moves, so a client refreshes only when something happened.
"""

from __future__ import annotations

import json
import threading
from typing import IO, Any, Callable

from xpm_core.monitor_protocol import (
    FILTER_SYNTAX_ERROR,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    METHODS,
    PARSE_ERROR,
    PROTOCOL,
    VERSION,
    WORKSPACE_ERROR,
)

#: Seconds between two looks at the change token by the watcher thread.
WATCH_INTERVAL = 1.0


class MonitorServer:
    """Serves ``api`` (a :class:`WorkspaceAPI`) until the input ends or ``shutdown`` is called."""

    def __init__(
        self, api: Any, input: IO[bytes], output: IO[bytes], *, watch_interval: float = WATCH_INTERVAL
    ) -> None:
        self.api = api
        self.input = input
        self.output = output
        self.watch_interval = watch_interval
        self._write_lock = threading.Lock()
        self._stop = threading.Event()

    def serve(self) -> None:
        watcher = threading.Thread(target=self._watch, name="xpm-monitor-watch", daemon=True)
        watcher.start()
        try:
            for line in self.input:
                if not line.strip():
                    continue
                response = self.handle(line)
                if response is not None:
                    self._send(response)
                if self._stop.is_set():
                    break
        finally:
            self._stop.set()

    def handle(self, line: bytes) -> dict[str, Any] | None:
        """The response to one request line (``None`` for a notification)."""
        try:
            request = json.loads(line)
        except ValueError as exc:
            return _error(None, PARSE_ERROR, f"not JSON: {exc}")
        if (
            not isinstance(request, dict)
            or request.get("jsonrpc") != "2.0"
            or not isinstance(request.get("method"), str)
        ):
            return _error(
                request.get("id") if isinstance(request, dict) else None, INVALID_REQUEST, "not a JSON-RPC 2.0 request"
            )
        ident = request.get("id")
        params = request.get("params", {})
        if not isinstance(params, dict):
            return _error(ident, INVALID_PARAMS, "params must be an object (parameters by name)")
        try:
            result = self._call(request["method"], params)
        except _RpcError as exc:
            return _error(ident, exc.code, str(exc), exc.data)
        except Exception as exc:  # noqa: BLE001 - any failure is the client's answer, not the server's death
            return _error(ident, *_classify(exc))
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": ident, "result": result}

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "hello":
            from xpm_core import __version__

            return {"protocol": PROTOCOL, "version": VERSION, "xpm": __version__, "workspace": str(self.api.path)}
        if method == "shutdown":
            self._stop.set()
            return None
        if method not in METHODS:
            raise _RpcError(
                METHOD_NOT_FOUND, f"unknown method {method!r} (known: hello, shutdown, {', '.join(METHODS)})"
            )
        function: Callable[..., Any] = getattr(self.api, method)
        if method in ("kill", "clean"):
            params = dict(params)
            references = params.pop("references", None)
            if not isinstance(references, list):
                raise _RpcError(INVALID_PARAMS, f"{method} needs 'references', a list of job ids")
            try:
                return _unstructure(function(references, **params))
            except TypeError as exc:
                raise _RpcError(INVALID_PARAMS, str(exc)) from exc
        if method in ("runs", "job", "log", "actions"):
            positional = {"runs": "experiment_id", "job": "reference", "log": "reference",
                          "actions": "experiment_id"}[method]
            if positional not in params:
                raise _RpcError(INVALID_PARAMS, f"{method} needs {positional!r}")
        try:
            return _unstructure(function(**params))
        except TypeError as exc:
            if "argument" in str(exc):
                raise _RpcError(INVALID_PARAMS, str(exc)) from exc
            raise

    def _watch(self) -> None:
        """Notify ``changed`` with the new token whenever the workspace's index is written."""
        from xpm_core.plugin.workspace import WorkspaceAPI

        watcher = WorkspaceAPI(self.api.path)  # its own object: WorkspaceAPI is one per thread
        token = watcher.change_token()
        while not self._stop.wait(self.watch_interval):
            current = watcher.change_token()
            if current != token:
                token = current
                self._send({"jsonrpc": "2.0", "method": "changed", "params": {"change_token": token}})

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"
        with self._write_lock:
            try:
                self.output.write(data)
                self.output.flush()
            except (BrokenPipeError, ValueError):  # the client went away
                self._stop.set()


class _RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


def _unstructure(value: Any) -> Any:
    import cattrs

    return cattrs.unstructure(value)


def _classify(exc: Exception) -> tuple[int, str, Any]:
    from xpm_core.plugin.workspace import FilterSyntaxError, WorkspaceAPIError

    if isinstance(exc, FilterSyntaxError):
        return FILTER_SYNTAX_ERROR, str(exc), {"type": "FilterSyntaxError", "column": exc.column, "reason": exc.reason}
    if isinstance(exc, WorkspaceAPIError):
        return WORKSPACE_ERROR, str(exc), {"type": type(exc).__name__}
    return INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", {"type": type(exc).__name__}


def _error(ident: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": ident, "error": error}
