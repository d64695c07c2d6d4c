"""The monitor protocol's client: :class:`RemoteWorkspace` has the methods of ``WorkspaceAPI``, answered by a server.

It talks to ``xpm experiments monitor-server`` through any pair of byte streams: the pipes of a
local child process (:meth:`RemoteWorkspace.over_command`), or an SSH channel (xpm-ssh). Answers
are structured back into the records of :mod:`xpm_core.plugin.workspace` with cattrs, so a
monitor cannot tell a remote workspace from a local one.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
from typing import IO, Any, Callable, Iterable, Optional, Sequence

from xpm_core.monitor_protocol import FILTER_SYNTAX_ERROR, PROTOCOL, VERSION, WORKSPACE_ERROR

#: Seconds to wait for an answer, unless the client is given ``timeout=``.
DEFAULT_TIMEOUT = 60.0


class MonitorProtocolError(RuntimeError):
    """The server cannot be talked to: it went away, timed out, or speaks another protocol version."""


class RemoteWorkspace:
    """A workspace served by ``xpm experiments monitor-server``, with the methods of ``WorkspaceAPI``."""

    def __init__(
        self,
        input: Iterable[bytes],
        output: IO[bytes],
        *,
        where: str = "the monitor server",
        timeout: float = DEFAULT_TIMEOUT,
        on_close: Optional[Callable[[], None]] = None,
    ) -> None:
        """
        :param input: the server's answers, line by line (its standard output).
        :param output: where requests go (its standard input).
        :param where: how errors name the server (``user@host:/workspace``).
        """
        self._input = input
        self._output = output
        self.where = where
        self.timeout = timeout
        self._on_close = on_close
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # one request at a time: answers come back in order
        self._answers: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        #: The last change token the server notified (``None`` before the first change).
        self.notified_token: Optional[str] = None
        self._reader = threading.Thread(target=self._read, name="xpm-monitor-client", daemon=True)
        self._reader.start()
        self.server_info = self._hello()
        self.path = self.server_info.get("workspace", "")

    @classmethod
    def over_command(cls, argv: Sequence[str], **kwargs: Any) -> RemoteWorkspace:
        """Start ``argv`` (a ``monitor-server`` command line) and talk to it through its pipes."""
        process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None

        def close() -> None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        kwargs.setdefault("where", " ".join(argv[:3]))
        return cls(process.stdout, process.stdin, on_close=close, **kwargs)

    # ---- the connection ------------------------------------------------------------------

    def _read(self) -> None:
        try:
            for line in self._input:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not ours (a remote shell's banner): the protocol lines are JSON
                if not isinstance(message, dict):
                    continue
                if "id" in message:
                    self._answers.put(message)
                elif message.get("method") == "changed":
                    self.notified_token = (message.get("params") or {}).get("change_token")
        except (OSError, ValueError):
            pass
        self._answers.put(None)  # end of stream

    def call(self, method: str, **params: Any) -> Any:
        """Send one request and wait for its answer (its ``result``, or an exception)."""
        with self._lock:
            ident = next(self._ids)
            request = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}
            try:
                self._output.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
                self._output.flush()
            except (OSError, ValueError) as exc:
                raise MonitorProtocolError(f"{self.where} went away ({exc})") from None
            while True:
                try:
                    answer = self._answers.get(timeout=self.timeout)
                except queue.Empty:
                    raise MonitorProtocolError(
                        f"{self.where} did not answer {method} within {self.timeout:g} s (raise --timeout?)"
                    ) from None
                if answer is None:
                    self._answers.put(None)
                    raise MonitorProtocolError(f"{self.where} closed the connection")
                if answer.get("id") == ident:
                    break
        if "error" in answer:
            raise _exception(answer["error"], self.where)
        return answer.get("result")

    def _hello(self) -> dict[str, Any]:
        info = self.call("hello")
        if not isinstance(info, dict) or info.get("protocol") != PROTOCOL or info.get("version") != VERSION:
            theirs = (
                f"{info.get('protocol')} version {info.get('version')} (xpm {info.get('xpm')})"
                if isinstance(info, dict)
                else repr(info)
            )
            from xpm_core import __version__

            raise MonitorProtocolError(
                f"{self.where} speaks {theirs}, this xpm ({__version__}) speaks {PROTOCOL} version {VERSION}: "
                "install the same xpm version on both sides"
            )
        return info

    def close(self) -> None:
        try:
            self.call("shutdown")
        except MonitorProtocolError:
            pass
        try:
            self._output.close()
        except OSError:
            pass
        if self._on_close is not None:
            self._on_close()  # ends the server's stream, and so the reader thread
        try:
            getattr(self._input, "close", lambda: None)()
        except (OSError, ValueError):  # a generator the reader thread is still in
            pass

    def __enter__(self) -> RemoteWorkspace:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ---- the methods of WorkspaceAPI -----------------------------------------------------

    def change_token(self) -> str:
        return str(self.call("change_token"))

    def warnings(self) -> list[Any]:
        from xpm_core.plugin.workspace import WorkspaceWarning

        return _structure(self.call("warnings"), list[WorkspaceWarning])

    def experiments(self) -> list[Any]:
        from xpm_core.plugin.workspace import ExperimentSummary

        return _structure(self.call("experiments"), list[ExperimentSummary])

    def runs(self, experiment_id: str) -> list[Any]:
        from xpm_core.plugin.workspace import RunSummary

        return _structure(self.call("runs", experiment_id=experiment_id), list[RunSummary])

    def jobs(
        self,
        *,
        experiment_id: Optional[str] = None,
        run_id: Optional[str] = None,
        filter: Optional[str] = None,
        sort: str = "submitted",
        descending: bool = True,
        offset: int = 0,
        limit: Optional[int] = 100,
        count: bool = True,
    ) -> Any:
        from xpm_core.plugin.workspace import JobPage

        # count is sent only when False: a server older than it answers the default as before.
        extra = {} if count else {"count": False}
        answer = self.call(
            "jobs",
            experiment_id=experiment_id,
            run_id=run_id,
            filter=filter,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
            **extra,
        )
        return _structure(answer, JobPage)

    def job(self, reference: str) -> Any:
        from xpm_core.plugin.workspace import JobDetail

        return _structure(self.call("job", reference=reference), JobDetail)

    def tags(self, experiment_id: Optional[str] = None, run_id: Optional[str] = None) -> dict[str, dict[str, Any]]:
        return dict(self.call("tags", experiment_id=experiment_id, run_id=run_id))

    def dependencies(self, experiment_id: Optional[str] = None, run_id: Optional[str] = None) -> dict[str, list[str]]:
        return dict(self.call("dependencies", experiment_id=experiment_id, run_id=run_id))

    def services(self, experiment_id: str, run_id: Optional[str] = None) -> list[dict[str, Any]]:
        """The services of a run, as ``WorkspaceAPI.services`` lists them (starting one is local only:
        it would run on the server's machine)."""
        return list(self.call("services", experiment_id=experiment_id, run_id=run_id))

    def actions(self, experiment_id: str, run_id: Optional[str] = None) -> list[dict[str, Any]]:
        """The actions of a run, as ``WorkspaceAPI.actions`` lists them (with the command that runs
        one, on the server's machine: an action runs the plan's code there)."""
        return list(self.call("actions", experiment_id=experiment_id, run_id=run_id))

    def log(self, reference: str, stream: str = "stderr", offset: int = 0, size: Optional[int] = None) -> Any:
        from xpm_core.plugin.workspace import LogChunk

        params: dict[str, Any] = {"reference": reference, "stream": stream, "offset": offset}
        if size is not None:
            params["size"] = size
        return _structure(self.call("log", **params), LogChunk)

    def kill(self, references: Iterable[str], *, perform: bool = False) -> list[Any]:
        from xpm_core.plugin.workspace import ActionOutcome

        return _structure(self.call("kill", references=list(references), perform=perform), list[ActionOutcome])

    def clean(self, references: Iterable[str], *, perform: bool = False) -> list[Any]:
        from xpm_core.plugin.workspace import ActionOutcome

        return _structure(self.call("clean", references=list(references), perform=perform), list[ActionOutcome])


def _structure(value: Any, kind: Any) -> Any:
    import cattrs

    return cattrs.structure(value, kind)


def _exception(error: dict[str, Any], where: str) -> Exception:
    from xpm_core.plugin.workspace import FilterSyntaxError, WorkspaceAPIError

    code, message = error.get("code"), str(error.get("message", ""))
    if code == FILTER_SYNTAX_ERROR:
        data = error.get("data") or {}
        return FilterSyntaxError(message, int(data.get("column", 1)), str(data.get("reason", message)))
    if code == WORKSPACE_ERROR:
        return WorkspaceAPIError(message)
    return MonitorProtocolError(f"{where}: {message}")
