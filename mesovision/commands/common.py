"""Options and helpers shared by the sub-commands.

Every sub-parser is made by :func:`add_subparser`, which gives its ``--help`` a description and
an ``Examples:`` block in plain text. The exit codes (:func:`exit_codes`) are listed once, in the
epilog of ``mesovision --help``, and the documentation's exit-code page is generated from the
same function. Shared option groups (``--store``; the alignment options of ``align`` and
``compare``; the alignment and lighting methods of those and ``batch``) are defined here so
that they read the same in every command.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from pathlib import Path

from ..text import printable as _printable

__all__ = [
    "EXIT_BROKEN_PIPE",
    "add_align_options",
    "add_common",
    "add_method_options",
    "add_store_option",
    "add_subparser",
    "add_threads_option",
    "align_from_args",
    "confirm_removal",
    "examples_block",
    "exit_code_table",
    "exit_codes",
    "new_folder_ok",
    "input_files",
    "int_range",
    "lighting_method",
    "max_side_px",
    "printable",
    "quiet_stdout",
    "row_id",
]

#: The exit code when stdout is closed early (``mesovision check --json | head``): the status a
#: shell reports for a program ended by SIGPIPE (128 + 13), as ``cat`` or ``git log`` give.
EXIT_BROKEN_PIPE = 141


def printable(text) -> str:
    """``text`` safe to print on one terminal line (:func:`mesovision.text.printable`: control
    characters, line separators and bidirectional overrides as escapes). Used for every line the
    commands print from user text (names, notes, file names, messages)."""
    return _printable(text)


def int_range(lo: int, hi: int, what: str = "an integer"):
    """An argparse ``type`` accepting integers ``lo <= n <= hi``; anything else (``0``, ``-5``,
    ``99999999999999999999``, ``x``) is a usage error (exit 2) with one line naming the range."""

    def parse(text: str) -> int:
        try:
            n = int(text, 10)
        except ValueError:
            n = None
        if n is None or not lo <= n <= hi:
            raise argparse.ArgumentTypeError(
                f"must be {what} from {lo} to {hi}, got '{printable(text[:40])}'"
            )
        return n

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


#: ``--max-side``: the long side of the working copy, in pixels.
max_side_px = int_range(1, 100_000, "a number of pixels")
#: Ids of SQLite rows (sessions): SQLite integers are signed 64-bit.
row_id = int_range(1, 2**63 - 1, "an id")


def quiet_stdout() -> None:
    """Point stdout at the null device: the reader is gone (a closed pipe), and the interpreter's
    final flush must not raise a second error."""
    import io
    import os
    import sys

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass


def confirm_removal(what: str, key: str, question: str, *, yes: bool) -> bool:
    """Ask before removing ``what`` (``"patient P001"``, ``"session 3"``), which cannot be undone:
    ``question`` is printed and only ``key`` typed back (the id, spaces around it ignored) goes
    on; ``True`` at once with ``yes`` (``--yes``). Any other answer prints ``nothing removed``
    and gives ``False`` (the command exits 0). Without a terminal on stdin, or with no answer
    (end of input, Ctrl-D), :class:`~mesovision.errors.UsageError` (exit 2) saying that
    ``--yes`` removes without asking."""
    import sys

    from ..errors import UsageError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"removing {what} needs --yes (no terminal to ask)")
    try:
        answer = input(question)
    except EOFError:  # Ctrl-D, or the input ended: no answer is not a yes
        print()
        raise UsageError(
            f"no answer (end of input): {what} not removed; give --yes to remove without asking"
        ) from None
    if answer.strip() != key:
        print("nothing removed")
        return False
    return True


def exit_codes() -> dict[int, str]:
    """Every exit code of the command line with its meaning, in plain text, sorted by code.

    The codes of the error classes (:data:`mesovision.errors.EXIT_CODES`) plus the quiet exit on
    a closed stdout. ``mesovision --help`` and the documentation's exit-code page both print
    this mapping.
    """
    from ..errors import EXIT_CODES

    codes = {
        **EXIT_CODES,
        EXIT_BROKEN_PIPE: "stdout was closed early (e.g. piped into head): the command stops "
        "quietly, as a program ended by SIGPIPE",
    }
    return {k: codes[k].replace("``", "") for k in sorted(codes)}


def exit_code_table() -> str:
    """The exit codes as the plain-text block ending ``mesovision --help``."""
    lines = (
        textwrap.fill(v, 96, initial_indent=f"  {k:>3}  ", subsequent_indent=" " * 7)
        for k, v in exit_codes().items()
    )
    return "exit codes:\n" + "\n".join(lines)


def examples_block(examples: Sequence[str]) -> str:
    """An ``Examples:`` block for a ``--help`` epilog: one command line per entry, indented.
    An entry starting with ``#`` is a comment line above the next command."""
    return "Examples:\n" + "\n".join(f"  {line}" for line in examples)


def add_subparser(
    sub,
    name: str,
    help: str,
    run=None,
    *,
    examples: Sequence[str] = (),
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A sub-parser of ``sub`` running ``run`` (``None`` for a group of actions such as
    ``patient``). Its ``--help`` starts with ``description`` (default: ``help``) and ends with
    ``examples`` as an ``Examples:`` block; line breaks are kept as written."""
    p = sub.add_parser(
        name,
        help=help,
        description=textwrap.fill(description or help[:1].upper() + help[1:] + ".", 79),
        epilog=examples_block(examples) if examples else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if run is not None:
        p.set_defaults(run=run)
    return p


def add_store_option(p: argparse.ArgumentParser) -> None:
    """``--store DIR`` (default: the environment variable ``MESOVISION_STORE``)."""
    p.add_argument(
        "--store",
        metavar="DIR",
        default=None,
        help="the store folder (created on first use; default: $MESOVISION_STORE)",
    )


def add_common(p: argparse.ArgumentParser) -> None:
    """``--force``, ``--max-side`` and ``--json``, as ``align`` and ``compare`` take them."""
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing outputs and proceed past quality thresholds",
    )
    p.add_argument(
        "--max-side",
        type=max_side_px,
        default=2048,
        metavar="PX",
        help="long side of the working copy (default 2048; results map back to the "
        "original pixels)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def add_threads_option(p: argparse.ArgumentParser, where: str = "each comparison") -> None:
    """``--threads N``: the threads a comparison runs its stages on (the API's ``threads``)."""
    p.add_argument(
        "--threads",
        type=int_range(1, 1024, "a number of threads"),
        default=None,
        metavar="N",
        help=f"threads {where} runs its stages on (default: OpenCV's thread count); "
        "the results do not depend on it",
    )


def add_align_options(p: argparse.ArgumentParser) -> None:
    """The two photos, the output folder and the alignment and lighting options of ``align`` and
    ``compare``."""
    p.add_argument("before", help="the before photo (reference frame)")
    p.add_argument("after", help="the after photo (aligned onto the before photo)")
    p.add_argument(
        "-o",
        "--out",
        required=True,
        help="output folder (created if missing; its parent must exist)",
    )
    p.add_argument(
        "--mode",
        choices=("face", "body", "scalp", "trichoscopy"),
        default="face",
        help="face: align on the face mesh; body: align on image features (thigh, abdomen, "
        "arm); scalp: crown or part-line photos, trichoscopy: hair close-ups (with "
        "--px-per-mm), both aligned on image features and scored for hair",
    )
    p.add_argument(
        "--mask",
        metavar="FILE",
        help="measured area as an image the size of the before photo (non-zero = "
        "measured); default: facial skin, detected skin in body mode, the whole photo in "
        "scalp and trichoscopy modes",
    )
    add_method_options(p)
    p.add_argument(
        "--treated",
        default="",
        metavar="REGIONS",
        help="comma-separated treated regions, excluded from the lighting reference "
        "(e.g. left_cheek,right_cheek)",
    )
    add_common(p)


def new_folder_ok(out: str) -> None:
    """Refuse (exit 10) an output folder ``-o`` whose parent folder does not exist: a command
    creates only the last level, as ``mkdir`` without ``-p`` does, so that a typo in a parent
    creates no folder tree."""
    from ..io.write import folder_missing

    missing = folder_missing(Path(out))
    if missing is not None:
        raise missing


def input_files(args: argparse.Namespace) -> dict[str, str | None]:
    """The input files of ``align`` and ``compare`` by what they are, to refuse an output that
    would replace one of them (:func:`mesovision.io.write.refuse_inputs`)."""
    return {"the before photo": args.before, "the after photo": args.after, "the mask": args.mask}


def add_method_options(p: argparse.ArgumentParser) -> None:
    """``--refine``, ``--model`` and ``--lighting``: how a pair is aligned and normalized
    (``align``, ``compare`` and ``batch``)."""
    p.add_argument(
        "--refine",
        choices=("none", "ecc", "mesh"),
        default="ecc",
        help="refinement after the landmark fit (default ecc; body mode: ecc or none)",
    )
    p.add_argument(
        "--model",
        choices=("similarity", "affine"),
        default="similarity",
        help="landmark fit model (default similarity)",
    )
    p.add_argument(
        "--lighting",
        default="reference",
        metavar="METHOD",
        help="lighting normalization: reference (default), card or none",
    )


def lighting_method(name: str) -> str:
    """``name`` if it is a lighting method; otherwise a usage error listing the valid ones."""
    from ..errors import UsageError
    from ..lighting import METHODS

    if name not in METHODS:
        raise UsageError(f"unknown lighting method {name!r}; valid: {', '.join(METHODS)}")
    return name


def align_from_args(args: argparse.Namespace):
    """The aligned pair of ``args.before`` and ``args.after`` with the parsed alignment options."""
    from ..pipeline import align_pair

    return align_pair(
        args.before,
        args.after,
        mode=args.mode,
        refine=args.refine,
        model=args.model,
        mask_path=args.mask,
        max_side=args.max_side,
        force=args.force,
        threads=getattr(args, "threads", None),
    )


def require_view(store: str | None, patient: str, view: str, doc: dict) -> None:
    """Raise :class:`~mesovision.errors.UsageError` when the course document ``doc`` of ``view``
    has no session but the patient has photos of other views ("use --view")."""
    from ..errors import UsageError
    from ..store import open_store
    from ..views import views_of

    if doc["sessions"]:
        return
    with open_store(store, create=False, upgrade="read") as st:
        views = views_of(st.sessions(patient))
    if views:
        raise UsageError(
            f"patient {patient} has no {view} photo (its photos: {', '.join(views)}); use --view"
        )
