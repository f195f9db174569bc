"""``mesovision serve``: the clinic app (:mod:`mesovision.app`) in the browser."""

from __future__ import annotations

import argparse
import logging
import sys

from .common import add_store_option, add_subparser

__all__ = ["LOCAL_HOST", "LOCAL_NAMES", "add_parser", "run"]

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
        ),
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free one)")
    p.add_argument(
        "--host",
        default=LOCAL_HOST,
        help="address to listen on (default 127.0.0.1: this computer only); another address "
        "lets other machines of the network reach the app (with the token)",
    )
    p.add_argument("--open", action="store_true", help="open the app in the web browser")
    add_store_option(p)


def run(args: argparse.Namespace) -> int:
    import errno
    import socket

    from ..app import Secrets, create_app, run_server
    from ..errors import UsageError
    from ..store import resolve_store_dir

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not between 0 and 65535")
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
    secret = Secrets(cookie=f"mesovision_token_{port}")
    store = resolve_store_dir(args.store)
    app = create_app(store, secret=secret, hosts=hosts)
    url_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{url_host}:{port}/?token={secret.token}"

    def ready() -> None:
        print(f"mesovision serve: store {store}", flush=True)
        print(f"open the app at (the token is needed):\n    {url}", flush=True)
        print("Ctrl-C stops the server", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url)

    try:
        run_server(app, sock, on_ready=ready)
    except KeyboardInterrupt:
        print(file=sys.stderr)
    return 0
