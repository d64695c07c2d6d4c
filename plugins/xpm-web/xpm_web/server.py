"""Serving the app with waitress (a production WSGI server, pure Python) in a background thread."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from typing import Optional

from flask import Flask

logger = logging.getLogger("xpm.web")

#: The port tried when none is given (experimaestro's); a free one is taken if it is busy.
DEFAULT_PORT = 12345
DEFAULT_HOST = "127.0.0.1"
#: Server threads: each open page holds one with its event stream, the rest answer requests.
THREADS = 32


class ServerError(RuntimeError):
    """The server could not start (port taken, unknown address...)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebServer:
    """``app`` served on ``host:port`` by waitress until :meth:`close`."""

    def __init__(self, app: Flask, *, host: Optional[str] = None, port: Optional[int] = None) -> None:
        from waitress.server import create_server

        self.host = host or DEFAULT_HOST
        candidates = [port] if port is not None else [DEFAULT_PORT, 0]
        last_error: Optional[OSError] = None
        for candidate in candidates:
            try:
                self._server = create_server(app, host=self.host, port=candidate, threads=THREADS,
                                             ident="xpm-web", clear_untrusted_proxy_headers=True)
                break
            except OSError as error:
                last_error = error
        else:
            assert last_error is not None
            if last_error.errno == errno.EADDRINUSE:
                raise ServerError(f"cannot listen on {self.host}:{port}: the port is in use; "
                                  "choose another with --port") from None
            raise ServerError(f"cannot listen on {self.host}:{port}: {last_error.strerror or last_error}") from None
        self.port: int = self._server.effective_port  # type: ignore[union-attr]
        self._thread: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="xpm-web-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:  # closing the sockets under the loop ends it with an error: expected
            logger.debug("the web server's loop ended", exc_info=True)

    def close(self) -> None:
        """Stop listening, close every connection (open event streams too) and end the threads."""
        from waitress import wasyncore

        # Closing the listening socket alone leaves the loop serving the open connections.
        wasyncore.close_all(self._server._map)
        if self._thread is not None:
            self._thread.join(5)
        self._server.task_dispatcher.shutdown(timeout=2)
