"""What the library says while a page's work runs: its logged warnings, shown on the page.

The library logs warnings (a session dated in the future, two faces in a photo, a photo filed
against a failed check) to the ``mesovision`` logger, which the server prints to its terminal or
service log. :func:`captured_warnings` collects the ones logged by the calling thread during a
piece of work, in the app's words (:func:`app_wording`, staged paths replaced
by the file names the browser sent), so that the page shows them too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["APP_WORDING", "app_wording", "captured_warnings"]

#: The command line's ways past a refusal, as the pages offer them.
APP_WORDING = {
    "use --force to import it anyway": "accept it with a reason",
    "--force would import it, but": "accepting it with a reason would file it, but",
    "give --rebaseline to accept that": "tick 'the baseline may change' to accept that",
    "correct it with mesovision session edit ID --date YYYY-MM-DD": (
        "correct it with 'edit' beside the session on the patient page"
    ),
    "(mesovision session remove ID removes a duplicate)": (
        "('remove' beside a session on the patient page removes a duplicate)"
    ),
    "; imported (--force)": "; filed with the reason given",
    "; accepted (--force)": "; filed as the new baseline was accepted",
    "give --view once per --photo": "choose another view for one of them, or remove one",
    "give --px-per-mm (the file's pixels per mm)": "fill in its scale (px per mm of the file)",
}


def app_wording(text: str) -> str:
    """A library message with the command line's advice (:data:`APP_WORDING`) said as the
    pages offer it."""
    for cli, app in APP_WORDING.items():
        text = text.replace(cli, app)
    return text


class _Collect(logging.Handler):
    def __init__(self, thread: int, names: Mapping[str, str]) -> None:
        super().__init__(logging.WARNING)
        self.thread, self.names, self.said = thread, dict(names), []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:  # another request's work
            return
        text = record.getMessage()
        for path, name in self.names.items():
            text = text.replace(path, name)
        text = app_wording(text)
        if text not in self.said:
            self.said.append(text)


@contextmanager
def captured_warnings(names: Mapping[str, str] | None = None) -> Iterator[list[str]]:
    """The warnings the ``mesovision`` logger gets from this thread inside the ``with`` block
    (a list filled as they come), with each staged path of ``names`` replaced by its name."""
    handler = _Collect(threading.get_ident(), names or {})
    logger = logging.getLogger("mesovision")
    logger.addHandler(handler)
    try:
        yield handler.said
    finally:
        logger.removeHandler(handler)
