"""``mesovision serve``: the clinic app (:mod:`mesovision.app`) in the browser.

``--open`` never puts the access token on the browser's command line (which every local user
can read, in ``ps``): the browser opens a local page (:func:`open_page`: mode 0600, in a private
temporary folder) that forwards it to the address with the token; the page is deleted when the
server stops.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import sys
from pathlib import Path

from .common import add_store_option, add_subparser

__all__ = [
    "LOCAL_HOST",
    "LOCAL_NAMES",
    "add_parser",
    "app_urls",
    "machine_addresses",
    "open_page",
    "run",
]

log = logging.getLogger("mesovision")

#: The address served unless ``--host`` is given.
LOCAL_HOST = "127.0.0.1"

#: The addresses of this computer only (the loopback): no warning, and the ``Host`` header
#: must name one of them (no DNS rebinding).
LOCAL_NAMES = (LOCAL_HOST, "localhost", "::1")


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "serve",
        "the clinic app: patients, sessions with their photos and checks, the course, reports "
        "and exports in the browser (local; a random access token is printed at start)",
        run,
        examples=(
            "mesovision serve --store clinic",
            "mesovision serve --store clinic --port 8800 --open",
            "mesovision serve --store clinic --token-file ~/.mesovision-token",
        ),
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    p.add_argument(
        "--host",
        default=LOCAL_HOST,
        help="address to listen on (default 127.0.0.1: this computer only); another address "
        "lets other machines of the network reach the app (with the token; the Host check "
        "against DNS rebinding is then off); 0.0.0.0: every address of this computer, the "
        "ones other machines use are printed",
    )
    p.add_argument(
        "--open",
        action="store_true",
        help="open the app in the web browser (through a private local page: the token is not "
        "put on the browser's command line)",
    )
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="keep the access token in FILE (created with a new token, mode 0600, when missing; "
        "refused when other users can read it): the same address at every start, to bookmark",
    )
    add_store_option(p)


def open_page(url: str) -> Path:
    """A local HTML page (mode 0600, in a new folder of mode 0700) that forwards the browser to
    ``url`` (a meta refresh, and a link): the browser is given this page's path, never the
    token. Delete its folder (``page.parent``) when done."""
    import html
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mesovision-open-"))
    page = folder / "open.html"
    target = html.escape(url, quote=True)
    text = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0;url={target}">\n'
        "<title>mesovision</title></head>\n"
        f'<body><p><a href="{target}">Open the mesovision app</a></p></body></html>\n'
    )
    with open(os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)
    return page


def _url(host: str, port: int, token: str) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/?token={token}"


def machine_addresses(family: int) -> list[str]:
    """This computer's addresses of the address ``family`` other machines may reach (its host
    name's addresses, and the one of its route to the network; no loopback), as found without
    sending anything."""
    import ipaddress
    import socket

    found = []
    with contextlib.suppress(OSError):
        infos = socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM)
        found += [info[4][0] for info in infos]
    probe = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"  # documentation nets
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((probe, 9))  # a UDP "connection" only picks the route: nothing is sent
        found.append(s.getsockname()[0])
    out = []
    for a in dict.fromkeys(found):
        ip = ipaddress.ip_address(a.split("%")[0])
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local):
            out.append(a)
    return out


def app_urls(host: str, port: int, token: str) -> tuple[list[str], str | None]:
    """The addresses to print for the app served on ``host``: ``host``'s own, except for
    ``0.0.0.0`` or ``::`` (every address of this computer, which another machine cannot open):
    then this computer's addresses (:func:`machine_addresses`), with a note, or the URL with a
    note to replace the address when none is found."""
    import socket

    if host not in ("0.0.0.0", "::"):
        return [_url(host, port, token)], None
    family = socket.AF_INET6 if host == "::" else socket.AF_INET
    here = "[::1]" if host == "::" else "127.0.0.1"
    found = machine_addresses(family)
    if found:
        note = (
            f"({host} listens on every address of this computer: another machine opens the "
            f"app at one of these addresses; this computer also at {here})"
        )
        return [_url(a, port, token) for a in found], note
    note = (
        f"(replace {host} with this computer's address on the network: another machine "
        f"cannot open {host}; this computer opens {here})"
    )
    return [_url(host, port, token)], note


def run(args: argparse.Namespace) -> int:
    import errno
    import socket

    from ..app import Secrets, create_app, run_server
    from ..app.security import token_from_file
    from ..errors import UsageError
    from ..store import resolve_store_dir

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not between 0 and 65535")
    # an existing token file is checked first; a new one is written once the server can start
    kept = token_from_file(args.token_file, create=False) if args.token_file else None
    local = args.host in LOCAL_NAMES
    if not local:
        log.warning(
            "serving on %s: other machines that reach this address can open the app (they "
            "still need the access token); patient data then crosses the network unencrypted",
            args.host,
        )
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        sock.close()
        reason = "in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({reason}); choose another --port or --host"
        ) from None
    port = sock.getsockname()[1]
    # On the loopback the Host header must name it (no DNS rebinding); on another address the
    # machine may be reached under any of its names, and the token alone guards it.
    hosts = {f"{h}:{port}" for h in (LOCAL_HOST, "localhost", "[::1]")} if local else None
    store = resolve_store_dir(args.store)
    if args.token_file and kept is None:
        kept = token_from_file(args.token_file)
    secret = Secrets(cookie=f"mesovision_token_{port}")
    if kept is not None:
        secret = Secrets(token=kept[0], cookie=secret.cookie)
    app = create_app(store, secret=secret, hosts=hosts)
    urls, note = app_urls(args.host, port, secret.token)
    url = urls[0]

    opener = open_page(url) if args.open else None

    def ready() -> None:
        print(f"mesovision serve: store {store}", flush=True)
        shown = "\n".join(f"    {u}" for u in urls)
        print(f"open the app at (the token is needed; keep it secret):\n{shown}", flush=True)
        if kept is not None:
            told = "a new access token, kept" if kept[1] else "the access token kept"
            print(f"({told} in {args.token_file}: the same address at every start)", flush=True)
        if note:
            print(note, flush=True)
        print("Ctrl-C stops the server", flush=True)
        if opener is not None:
            import webbrowser

            if not webbrowser.open(opener.as_uri()):  # the page's path, not the token
                print("no browser could be opened here: open the address above in one", flush=True)

    try:
        run_server(app, sock, on_ready=ready)
    except KeyboardInterrupt:
        print(file=sys.stderr)
    finally:
        if opener is not None:
            shutil.rmtree(opener.parent, ignore_errors=True)
    return 0
