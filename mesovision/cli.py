"""Command line: parses arguments, calls the library, prints. Nothing else.

Each sub-command lives in its own module under :mod:`mesovision.commands`. The exit codes are
listed once, at the end of ``mesovision --help`` (:func:`mesovision.commands.common.exit_codes`,
also printed in the documentation). Errors are one line on stderr,
``mesovision: error: <file>: <reason>``; a mistyped command or option value gets the closest
valid name as a suggestion. Machine output (``--json``) goes to stdout, logs and warnings to
stderr.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import io
import logging
import os
import signal
import sys

from ._version import __version__
from .commands import COMMAND_MODULES
from .commands.common import (
    EXIT_BROKEN_PIPE,
    examples_block,
    exit_code_table,
    printable,
    quiet_stdout,
)

__all__ = ["EXAMPLES", "EXIT_BROKEN_PIPE", "build_parser", "main", "walk_parsers"]

log = logging.getLogger("mesovision")

#: The examples at the end of ``mesovision --help`` (each sub-command has its own).
EXAMPLES = (
    "mesovision demo -o demo-out",
    "mesovision compare before.jpg after.jpg -o out --treated left_cheek,right_cheek",
    "mesovision patient add P001 --store clinic",
    "mesovision COMMAND --help",
)


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line (``mesovision: error: ...``, exit 2) like every other
    error of the command line; ``--help`` shows the usage."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        dashed = self._dashed_file()
        if dashed is not None:  # argparse read a file name as an unknown option
            message = f"{dashed}: is read as an option; write ./{dashed} or put file names after --"
        self.exit(2, f"mesovision: error: {printable(message)} (see: {self.prog} --help)\n")

    def _dashed_file(self) -> str | None:
        """The first argument that starts with ``-``, is no option of this command and names an
        existing file or folder (a photo named ``-IMG_0001.jpg``), or ``None``."""
        for a in getattr(self, "_given", ()):
            if a == "--":
                return None
            if len(a) > 1 and a[0] == "-" and a.split("=")[0] not in self._option_string_actions:
                if os.path.lexists(a):
                    return a
        return None

    def _check_value(self, action: argparse.Action, value) -> None:
        """A value outside the choices (a mistyped command, action or option value) is refused
        with the closest valid name as a suggestion, found by :mod:`difflib`."""
        choices = action.choices
        if choices is None or value in choices:
            return super()._check_value(action, value)
        names = [str(c) for c in choices]
        if isinstance(choices, dict):
            what = "unknown command" if action.dest == "command" else "unknown action"
        else:
            what = f"{'/'.join(action.option_strings) or action.dest}: unknown value"
        close = difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"choose from {', '.join(names)}"
        raise argparse.ArgumentError(None, f"{what} '{value}'; {hint}")


def walk_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every ``(command path, parser)`` under ``parser``, itself first, then depth first in the
    order the parser lists its sub-commands and actions (``("session", "add")``, ...). Read by
    the documentation build and the tests of every command's help."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk_parsers(sub, (*path, name))


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the global options and one sub-parser per command module. Also
    read by the documentation build, which generates the CLI reference from it."""
    parser = _Parser(
        prog="mesovision",
        description="Measured, comparable evidence from before/after photos of mesotherapy "
        "treatments.\nNothing leaves this machine. Each command's --help shows examples.",
        epilog=examples_block(EXAMPLES) + "\n\n" + exit_code_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mesovision {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="errors only on stderr: no warnings or progress (a command's results on stdout stay)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{name}").add_parser(sub)
    return parser


def _own_stderr():
    """A stream on a duplicate of stderr's file descriptor, taken before any work: native code is
    run with fd 2 pointed elsewhere (:mod:`mesovision._native_stderr`), possibly while another
    thread logs a warning, which must still reach the user. ``None`` when stderr has no file
    descriptor (e.g. captured by a test): then ``sys.stderr`` is used as it is."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return os.fdopen(fd, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                     errors="backslashreplace")  # fmt: skip


class _OneLineFormatter(logging.Formatter):
    """Log records as one line each: control characters in the message are escaped
    (:func:`~mesovision.commands.common.printable`), so that a file name or note cannot forge a
    second ``mesovision:`` line or recolour the terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = printable(record.message)
        return super().formatMessage(record)


def _non_utf8_argument(argv: list[str]) -> str | None:
    """The first argument that is not valid UTF-8 (Python decodes its bytes to lone surrogates),
    or ``None``. Such a name cannot be written to JSON, CSV or the store."""
    for a in argv:
        try:
            a.encode("utf-8")
        except UnicodeEncodeError:
            return a
    return None


class _Once(logging.Filter):
    """Lets each warning through once per command: a photo used by several comparisons (a
    course, a batch) would otherwise repeat its warning for each."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _configure_logging(args: argparse.Namespace, stream) -> None:
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    handler = logging.StreamHandler(stream)
    handler.addFilter(_Once())
    handler.setFormatter(_OneLineFormatter("mesovision: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run ``mesovision`` with ``argv`` (default: the process's arguments); the exit code."""
    parser = build_parser()
    bad = _non_utf8_argument(sys.argv[1:] if argv is None else argv)
    if bad is not None:
        print(
            f"mesovision: error: {printable(bad)}: not valid UTF-8 (undecodable bytes shown as "
            "\\xNN); rename the file or use UTF-8 text",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    own = _own_stderr()
    err = own or sys.stderr
    _configure_logging(args, err)
    try:
        return _run(args, err)
    finally:
        if own is not None:
            _configure_logging(args, sys.stderr)
            own.close()


def _run(args: argparse.Namespace, err) -> int:
    from ._threads import set_default_threads
    from .errors import MesovisionError, Terminated

    # --threads: the comparisons' thread count, also where a command does not pass it along
    threads = set_default_threads(getattr(args, "threads", None))
    on_term = _stop_on_sigterm()
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        quiet_stdout()
        return EXIT_BROKEN_PIPE
    except MesovisionError as e:
        print(f"mesovision: error: {printable(e)}", file=err)
        return e.exit_code
    except Terminated:
        print("mesovision: terminated (SIGTERM)", file=err)
        return 143
    except KeyboardInterrupt:
        print("mesovision: interrupted", file=err)
        return 130
    except Exception as e:  # the one broad catch: a bug must still end in one line
        if args.debug:
            raise
        print(
            f"mesovision: unexpected failure: {type(e).__name__}: {printable(e)} "
            "(run with --debug for details; please report it)",
            file=err,
        )
        return 1
    finally:
        set_default_threads(threads)
        if on_term is not None:
            signal.signal(signal.SIGTERM, on_term)


def _stop_on_sigterm():
    """In the main thread: SIGTERM (``kill``, a job scheduler's limit) raises
    :class:`~mesovision.errors.Terminated`, so that a command stops as on Ctrl-C (no partial
    output, a batch's finished comparisons kept) and exits 143 with one line, not killed
    mid-write. Returns the handler it replaced (``None`` outside the main thread)."""
    import threading

    from .errors import Terminated

    if threading.current_thread() is not threading.main_thread():
        return None

    def _raise(signum, frame):
        raise Terminated

    return signal.signal(signal.SIGTERM, _raise)


if __name__ == "__main__":
    sys.exit(main())
