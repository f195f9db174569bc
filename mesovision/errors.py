"""Exceptions raised by mesovision, each with the value seen and the limit.

Every exception carries an exit code for the command line (see the README's table). Only the CLI
and the batch runner catch them. The messages give the command line's advice
(:data:`FORCE_HINT`); :func:`mesovision.compare` and :func:`mesovision.align` raise them naming the
keyword instead (``pass force=True to proceed``, :mod:`mesovision._advice`).
"""

from __future__ import annotations

__all__ = [
    "MesovisionError",
    "UsageError",
    "InputFileError",
    "InvalidImage",
    "NoFace",
    "CaptureError",
    "AlignmentError",
    "LightingError",
    "OutputExists",
    "OutputError",
    "IdentityMismatch",
    "StoreError",
    "UnknownPatient",
    "ItemsFailed",
    "StoreReadOnly",
    "StoreBusy",
    "EXIT_CODES",
    "CHECKS",
    "FORCE_HINT",
]

#: The limits a refusal names in :attr:`MesovisionError.check`, with the unit of its ``value``
#: and ``limit``: the head's turn (``yaw``, degrees) or tilt (``pitch``, degrees) from the
#: reference photo, the landmark fit's misfit (``residual``, % of the interocular distance),
#: the share of the reference's face or measured area the aligned photo covers (``coverage``,
#: %), the face's size (``face_size``, px between the eyes), no face found (``no_face``), the
#: face descriptors' distance (``identity``), too few image features or matches to align a
#: body or scalp photo (``features``, matches), the usable pixels to match the light
#: (``light_pixels``, pixels) and the colour card not found (``colour_card``).
CHECKS = (
    "yaw",
    "pitch",
    "residual",
    "coverage",
    "face_size",
    "no_face",
    "identity",
    "features",
    "light_pixels",
    "colour_card",
)

#: The advice a refusal by a threshold carries (:attr:`MesovisionError.hint`): on the command
#: line ``--force`` turns it into a warning. Where no ``--force`` applies (a stored course),
#: the message is shown without it.
FORCE_HINT = "use --force to proceed"


class MesovisionError(Exception):
    """Base class. ``path`` names the file concerned (if any); ``hint`` is the advice shown
    after the reason on the command line (:data:`FORCE_HINT` for a threshold's refusal);
    ``exit_code`` is used by the CLI.

    A refusal by a measured limit also says which one, for programs that word it themselves
    (the course report): ``check`` names it (one of :data:`CHECKS`), ``value`` is what was
    measured and ``limit`` the limit, in the units of the message (``None`` when the check has
    no number)."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        hint: str | None = None,
        check: str | None = None,
        value: float | None = None,
        limit: float | None = None,
    ):
        super().__init__(message)
        self.path = path
        self.message = message
        self.hint = hint
        self.check = check
        self.value = value
        self.limit = limit

    def __str__(self) -> str:  # one line: "<path>: <reason> (<hint>)"
        text = f"{self.message} ({self.hint})" if self.hint else self.message
        return f"{self.path}: {text}" if self.path else text


class UsageError(MesovisionError, ValueError):
    """Bad arguments or options (an unknown method, region, patient or session, a bad value).

    Also a :class:`ValueError`: the Python API's bad arguments (an image array outside the
    array convention, a ``max_side`` or ``threads`` that is not a positive integer) are caught
    by ``except ValueError`` as by ``except mesovision.MesovisionError``."""

    exit_code = 2


class UnknownPatient(UsageError):
    """A patient id that the store does not hold (the app answers it with status 404)."""


class InputFileError(MesovisionError):
    """A file is missing or cannot be read (permissions, is a directory)."""

    exit_code = 3


class InvalidImage(MesovisionError):
    """A file is not a decodable image: zero bytes, truncated, unsupported, too many pixels."""

    exit_code = 4


class NoFace(MesovisionError):
    """No face was found where one is needed."""

    exit_code = 5


class CaptureError(MesovisionError):
    """A photo is not usable for measurement (face too small).

    Raised for a face whose interocular distance is below the limit (``check`` ``face_size``). A
    head turned or tilted too far from the before photo is an :class:`AlignmentError` (``check``
    ``yaw`` or ``pitch``)."""

    exit_code = 6


class AlignmentError(MesovisionError):
    """The after photo could not be aligned onto the before photo within the thresholds.

    The thresholds (``check``): the head's turn (``yaw``) or tilt (``pitch``) from the before
    photo, the landmark fit's residual, the coverage, too few matching features."""

    exit_code = 7


class LightingError(MesovisionError):
    """Lighting normalization failed (no reference pixels, no colour card where one was asked)."""

    exit_code = 8


class OutputExists(MesovisionError):
    """An output exists and ``--force`` was not given; nothing was written.

    In Python: ``force=False`` (:meth:`mesovision.Comparison.save`)."""

    exit_code = 9


class OutputError(MesovisionError):
    """An output could not be written (no parent folder, file as folder, permissions, disk full)."""

    exit_code = 10


class IdentityMismatch(MesovisionError):
    """The after photo shows a different person (face-descriptor distance over the limit)."""

    exit_code = 11


class StoreError(InputFileError):
    """The store is unsafe to use: database missing or damaged beside its files, or a foreign file.

    Exit code 12. Raised when ``store.sqlite`` is missing, empty or damaged while ``photos/`` or
    ``analyses/`` exist (a new database would disown their files), when ``photos/`` or
    ``analyses/`` holds a file or folder the store did not write or is a symbolic link, and by
    ``mesovision store check`` when it finds a problem. Nothing is deleted or written.
    """

    exit_code = 12


class ItemsFailed(MesovisionError):
    """Batch finished with failed items; ``status.csv`` lists them, the tables hold the others.

    Exit code 13. A photo refused by a capture check, a failed alignment or a missing file is
    an expected outcome of real photos, not a bug (exit 1).
    """

    exit_code = 13


class StoreReadOnly(MesovisionError):
    """The store folder is not writable (read-only medium or no permission); nothing was written.

    Exit code 14. Reading commands open such a store read-only; a command that writes to the
    store (``patient add``, ``session add``, a comparison not yet cached) stops with this code.
    """

    exit_code = 14


class StoreBusy(MesovisionError):
    """The store is busy: another process held its write lock too long; nothing was written.

    Exit code 15. A writer waits up to 30 s for another one (``store backup`` of a large store
    holds the lock while it copies every photo); try again once the other has finished.
    """

    exit_code = 15


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


#: Every exit code the command line uses, with its meaning (the first line of each error class's
#: docstring); ``mesovision --help`` and the README show this table.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected failure (a bug: please report it)",
    **{  # a subclass that keeps its parent's code (UnknownPatient) does not rename it
        cls.exit_code: (cls.__doc__ or "").strip().splitlines()[0]
        for cls in _subclasses(MesovisionError)
        if "exit_code" in vars(cls)
    },
    130: "interrupted (Ctrl-C)",
    143: "terminated (SIGTERM: kill, a job scheduler's time limit or cancel, a service stop)",
}


class Terminated(KeyboardInterrupt):
    """SIGTERM received (``kill PID``, a job scheduler's time limit or cancel).

    Raised in the main thread by the command line's handler, a ``KeyboardInterrupt`` so that a
    command stops as on Ctrl-C (``batch`` terminates its workers and keeps what finished in its
    cache; no partial output is left); the command line exits 143 (128 + 15, as a program ended
    by the signal).
    """
