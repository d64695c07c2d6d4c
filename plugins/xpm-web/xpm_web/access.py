"""Who may use the web monitor: the start token (URL, cookie or header), CSRF checks, security headers."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Optional
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, g, jsonify, redirect, request
from werkzeug.wrappers import Response

logger = logging.getLogger("xpm.web")

#: The cookie that carries the token once the URL with ``?token=`` was opened.
COOKIE = "xpm_web_token"
#: The query parameter of the URL the monitor prints.
QUERY = "token"
#: The header a page's scripts send with every POST (its value is :func:`csrf_token`).
CSRF_HEADER = "X-XPM-CSRF"

# Pages run only the package's own scripts and styles and talk only to this server: no CDN,
# no inline script, no framing (clickjacking), no form posting elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def new_token() -> str:
    """A random token for one start of the server (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


def csrf_token(token: str) -> str:
    """The CSRF token of pages served under ``token``: derived from it, so no session is needed."""
    return hmac.new(token.encode(), b"xpm-web csrf", hashlib.sha256).hexdigest()


def _same(given: Optional[str], expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def install(app: Flask, token: str) -> None:
    """Require ``token`` for every request of ``app`` and add the security headers to every answer."""
    app.config["XPM_WEB_TOKEN"] = token
    app.config["XPM_WEB_CSRF"] = csrf_token(token)
    app.before_request(_check_request)
    app.after_request(_secure_headers)


def _bearer() -> Optional[str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):].strip()
    return None


def _refuse(status: int, message: str) -> Response:
    """A refusal: JSON for the API and the event stream, a short page otherwise."""
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    else:
        response = current_app.response_class(
            f"<!doctype html><title>xpm web: {status}</title><p>{_escape(message)}</p>",
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _check_request() -> Optional[Response]:
    g.xpm_web_started = time.perf_counter()
    token = current_app.config["XPM_WEB_TOKEN"]
    if request.path.startswith("/static/") and request.method == "GET":
        return None  # the package's own CSS and JS: public, nothing about the workspace in them
    in_query = request.args.get(QUERY)
    if in_query is not None:
        if not _same(in_query, token):
            return _refuse(401, "wrong token: open the URL that xpm printed when it started the web monitor")
        # Set the cookie and drop the token from the address bar (and from history and referrers).
        query = urlencode([(key, value) for key, value in request.args.items(multi=True) if key != QUERY])
        response = redirect(request.path + (f"?{query}" if query else ""), code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response
    bearer = _bearer()
    if bearer is not None:
        # A script with the token in a header: not sent by browsers on their own, so no CSRF.
        if not _same(bearer, token):
            return _refuse(401, "wrong token in the Authorization header")
        return None
    if not _same(request.cookies.get(COOKIE), token):
        return _refuse(401, "this page needs the token: open the URL that xpm printed (…?token=…) "
                       "or send 'Authorization: Bearer TOKEN'")
    if request.method not in ("GET", "HEAD"):
        problem = _cross_site_problem()
        if problem is not None:
            logger.warning("refused %s %s from %s: %s", request.method, request.path, request.remote_addr, problem)
            return _refuse(403, problem)
    return None


def _cross_site_problem() -> Optional[str]:
    """Why a state-changing request carrying the cookie may come from another site, or None."""
    if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin"):
        return "cross-site request refused"
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        if urlsplit(origin).netloc != request.host:
            return f"cross-site request refused (origin {origin})"
    elif origin == "null":
        return "cross-site request refused (opaque origin)"
    if not _same(request.headers.get(CSRF_HEADER), current_app.config["XPM_WEB_CSRF"]):
        return f"missing or wrong {CSRF_HEADER} header: actions are sent by the pages' buttons"
    return None


def _secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The first URL carries the token: never tell another site where the user came from.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    started = g.get("xpm_web_started")
    if started is not None:
        # The server's own time for the request (browsers' devtools and the benchmark read it).
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response
