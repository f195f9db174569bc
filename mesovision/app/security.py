"""The app's guard: access token, CSRF token, host and size checks, security headers.

Every request passes through :class:`Guard` (plain ASGI middleware) before any route:

* **Access token** (as Jupyter does): a random token is printed at start inside a URL
  (``http://127.0.0.1:PORT/?token=...``). A request carrying the right ``?token=`` gets the token
  in a cookie (``HttpOnly``, ``SameSite=Strict``) and is redirected to the same address without
  it (from another site or a local file, such as the page ``serve --open`` opens, by a page of
  this site: the browser sends a ``SameSite=Strict`` cookie only on a request this site
  started); later requests carry the cookie. Without either: ``401``. ``serve --token-file``
  keeps the token in a private file (:func:`token_from_file`), the same at every start. The
  cookie is sent to every port of the host (browsers do not isolate cookies by port): another
  web server on this computer that the browser visits receives it while the server runs.
* **Host and origin**: the ``Host`` header must name the address the server listens on (a web
  page elsewhere cannot reach it through DNS rebinding), and a request with an ``Origin`` header
  from another site is refused (``403``).
* **CSRF**: every ``POST`` carries the page's CSRF token, in the form field ``csrf`` or the
  ``X-CSRF-Token`` header (the script's uploads); checked by :func:`check_csrf` (``403``).
* **Size**: a request body longer than the upload limit is refused (``413``) from its
  ``Content-Length`` before it is read; a ``POST`` without a length is refused (``411``).
* **Headers** on every response: a strict Content-Security-Policy (:data:`CSP`: the app's own
  files only, images also as ``data:``; no inline script), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``
  (patient data is not cached by the browser).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.requests import cookie_parser

__all__ = ["CSP", "TOKEN_CHARS", "Guard", "Secrets", "check_csrf", "token_from_file"]

#: The Content-Security-Policy of every response.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class Secrets:
    """The access token, the CSRF token and the cookie's name of one server."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    cookie: str = "mesovision_token"


#: What a token file may hold: 32 to 256 URL-safe characters (``secrets.token_urlsafe(32)``
#: writes 43), so that the address printed with it needs no escaping.
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]{32,256}")


def token_from_file(
    path: str | os.PathLike[str], *, create: bool = True
) -> tuple[str, bool] | None:
    """``(token, created)``: the access token kept in the file ``path`` (``serve --token-file``),
    the same at every start, so that a bookmarked address keeps working; a missing file is
    created (mode 0600, a new random token), or with ``create`` false gives ``None``. A file
    other users can read or write (:class:`~mesovision.errors.UsageError`: ``chmod 600`` it),
    that is not a regular file or does not hold a token
    (:class:`~mesovision.errors.InputFileError`), or whose folder does not exist
    (:class:`~mesovision.errors.OutputError`) is refused, naming the file."""
    from ..errors import InputFileError, OutputError, UsageError

    p = Path(path)
    if not p.exists() and not p.is_symlink():
        if not p.parent.is_dir():
            raise OutputError(f"{p.parent} is not a folder", path=str(p))
        if not create:
            return None
        token = secrets.token_urlsafe(32)
        with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(token + "\n")
        return token, True
    if not p.is_file():
        raise InputFileError("is not a file (a token file holds one access token)", path=str(p))
    mode = p.stat().st_mode
    if mode & 0o077:
        raise UsageError(
            f"other users can read or change it (mode {stat.filemode(mode)}): run chmod 600 {p}",
            path=str(p),
        )
    try:
        text = p.read_text(encoding="ascii", errors="replace").strip()
    except OSError as e:
        raise InputFileError(f"cannot be read ({e.strerror})", path=str(p)) from None
    if not TOKEN_CHARS.fullmatch(text):
        raise InputFileError(
            "does not hold an access token (one line of 32-256 letters, digits, - or _); "
            "delete it and a new one is written",
            path=str(p),
        )
    return text, False


def check_csrf(secret: Secrets, value: str | None) -> bool:
    """Whether ``value`` (form field or header) is the server's CSRF token."""
    return bool(value) and hmac.compare_digest(str(value).encode(), secret.csrf.encode())


class Guard:
    """ASGI middleware in front of the app (see the module docstring).

    ``hosts`` are the accepted ``Host`` header values (``None``: any); ``max_body`` the longest
    accepted request body in bytes."""

    def __init__(self, app, *, secret: Secrets, hosts: set[str] | None, max_body: int):
        self.app, self.secret, self.hosts, self.max_body = app, secret, hosts, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + _HEADERS}
            await send(message)

        if refusal is not None:
            return await _plain(send_with_headers, *refusal)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self._is_token(query.get("token")):
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            where = _app_path(scope) + (f"?{rest}" if rest else "")
            cookie = f"{self.secret.cookie}={self.secret.token}; HttpOnly; SameSite=Strict; Path=/"
            if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                # opened from another site or a local file (serve --open): the browser would
                # not send the SameSite=Strict cookie along a redirect, so a page of this site
                # forwards it
                return await _forward(send_with_headers, where, cookie)
            return await _plain(send_with_headers, 303, "", [("location", where),
                                                              ("set-cookie", cookie)])  # fmt: skip
        if not self._has_token_cookie(headers.get("cookie", "")):
            return await _unauthorized(send_with_headers)
        return await self.app(scope, receive, send_with_headers)

    def _is_token(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self.secret.token.encode())

    def _has_token_cookie(self, header: str) -> bool:
        """Whether the ``Cookie`` header holds the app's cookie with the token. Each cookie is
        read on its own, as browsers write them (Starlette's lenient ``cookie_parser``): the
        cookies of other servers on this host (JSON values, spaces, ``[]``, ``@``, quotes) are
        skipped, not a reason to refuse, and a cookie of the same name with another value (set
        by another port's page) does not hide the app's own."""
        for chunk in header.split(";"):
            for name, value in cookie_parser(chunk).items():
                if name == self.secret.cookie and self._is_token(value):
                    return True
        return False

    def _refusal(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """A ``(status, text)`` refusal for a wrong host, a foreign origin or a body too long."""
        host = headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            return 403, f"403: unexpected Host header {host[:80]!r}"
        origin = headers.get("origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc != host:
            return 403, "403: request from another site"
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            length = headers.get("content-length")
            if length is None or not length.isdigit():
                return 411, "411: a request body needs a Content-Length"
            if int(length) > self.max_body:
                return 413, (
                    f"413: the upload has {int(length)} bytes, the limit is {self.max_body} bytes"
                )
        return None


def _app_path(scope) -> str:
    """The request's path as the browser sent it (still percent-encoded: a non-Latin-1 letter,
    CR or LF stays ``%..``, fit for a ``Location`` header), with leading slashes collapsed into
    one: always a path of this app, never ``//other.host/`` (another site to a browser)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = quote(raw.split(b"?", 1)[0], safe="/%:@!$&'()*+,;=-._~")
    return "/" + path.lstrip("/")


async def _plain(send, status: int, text: str, extra: list[tuple[str, str]] = ()) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _unauthorized(send) -> None:
    """The ``401`` page: a minimal HTML page (language, title, heading) that says how to open
    the app."""
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Access token needed · mesovision</title></head><body><main>"
        "<h1>Access token needed</h1><p>401: this address needs the access token: open the URL "
        "with ?token=... that 'mesovision serve' printed when it started.</p></main></body>"
        "</html>\n"
    ).encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _forward(send, where: str, cookie: str) -> None:
    """A page that sets the cookie and forwards the browser to ``where`` (a meta refresh, which
    the Content-Security-Policy allows, and a link)."""
    import html

    target = html.escape(where, quote=True)
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={target}"><title>mesovision</title></head>'
        f'<body><p><a href="{target}">Open the mesovision app</a></p></body></html>\n'
    ).encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"),
               (b"content-length", str(len(body)).encode()),
               (b"set-cookie", cookie.encode("latin-1"))]  # fmt: skip
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
