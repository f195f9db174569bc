"""What the Python API says where the command line's messages name its options.

The library's refusals and warnings give the command line's advice (``use --force to proceed``,
``--lighting reference``, ``--px-per-mm``): the CLI prints them as they are. Within a call of
:func:`mesovision.compare` or :func:`mesovision.align` (:func:`api_call`):

* a refusal whose advice names a command-line option is raised again, as the same class with the
  same ``path``, ``check``, ``value`` and ``limit``, naming the keyword instead
  (``pass force=True to proceed``, ``lighting="reference"``): :func:`python_error`;
* the warnings logged by the package's loggers name the keyword too (``proceeding
  (force=True)``, ``pass px_per_mm=``), and each one is logged once per call: a message the call
  has already logged (the same logger, level and text, e.g. once per photo of the pair) is
  dropped.

The call is known to the threads it runs on through :mod:`contextvars` (the stages of
:mod:`mesovision._threads` run in the caller's context), so that concurrent calls, and the
command line, are unaffected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import FORCE_HINT, MesovisionError

__all__ = ["PYTHON_FORCE_HINT", "api_call", "python_error", "python_message"]

#: The advice of a threshold's refusal in the Python API (:data:`mesovision.errors.FORCE_HINT`
#: on the command line).
PYTHON_FORCE_HINT = "pass force=True to proceed"

#: Command-line advice in messages -> the Python API's words for it.
_WORDING = {
    "(--lighting reference)": '(lighting="reference")',
    "proceeding (--force)": "proceeding (force=True)",
    "(pass --px-per-mm for": "(pass px_per_mm= for",
    "no --px-per-mm and no ruler": "no px_per_mm and no ruler",
}

#: The loggers whose messages carry command-line advice (created here if not imported yet, so
#: that they carry the filter from their first message).
_ADVISING_LOGGERS = (
    "mesovision.align.face",
    "mesovision.identity",
    "mesovision.metrics._body_detect",
    "mesovision.scale",
)


def python_message(text: str) -> str:
    """``text`` with the command line's advice in the Python API's words."""
    for cli, python in _WORDING.items():
        text = text.replace(cli, python)
    return text


def python_error(err: MesovisionError) -> MesovisionError | None:
    """A copy of ``err`` (same class and attributes) naming the Python keyword where ``err``
    names a command-line option; ``None`` when it names none."""
    hint = PYTHON_FORCE_HINT if err.hint == FORCE_HINT else err.hint
    message = python_message(err.message)
    if hint == err.hint and message == err.message:
        return None
    # A new instance, not copy.copy: a reducer that another library registers for exceptions
    # (dask.distributed's) may hand the copy the original's attribute dict itself.
    new = type(err).__new__(type(err))
    new.__dict__.update(vars(err))
    new.hint, new.message, new.args = hint, message, (message,)
    return new


class _Call:
    """The messages one API call has logged."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, int, str]] = set()
        self.lock = threading.Lock()


_CALL: ContextVar[_Call | None] = ContextVar("mesovision_api_call", default=None)


class _CallFilter(logging.Filter):
    """Within an API call: the Python wording, and each message once. Outside: no change."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = _CALL.get()
        if call is None:
            return True
        text = record.getMessage()
        key = (record.name, record.levelno, text)
        with call.lock:
            if key in call.seen:
                return False
            call.seen.add(key)
        reworded = python_message(text)
        if reworded != text:
            record.msg, record.args = reworded, ()
        return True


_FILTER = _CallFilter()


def _install() -> None:
    """The filter on every logger of the package (those known now and the advising ones)."""
    names = [n for n in list(logging.Logger.manager.loggerDict) if n.startswith("mesovision")]
    for name in {*names, *_ADVISING_LOGGERS}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextmanager
def api_call() -> Iterator[None]:
    """Run the body as one API call: its refusals and its warnings in the Python API's words
    (module docstring), each warning logged once. A call inside a call is part of it."""
    if _CALL.get() is not None:
        yield
        return
    _install()
    token = _CALL.set(_Call())
    try:
        yield
    except MesovisionError as err:
        new = python_error(err)
        if new is None:
            raise
        raise new from None
    finally:
        _CALL.reset(token)
