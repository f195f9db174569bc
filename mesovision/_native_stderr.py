"""What native libraries print on file descriptor 2, sent to the debug log.

libtiff prints its errors itself (``tempfile.tif: Using code not yet in table.``) before Pillow
raises, and MediaPipe's C++ logging (TensorFlow Lite's delegate notes, absl warnings) ignores
environment variables: the command line's stderr must carry our one error line and nothing else.
Photo decoding (:mod:`mesovision.io`) and face-mesh detection (:mod:`mesovision.landmarks`) may
run at the same time on two threads, so they share one redirection of fd 2: the first in sets it
up, the last out restores fd 2 and logs what was captured.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from typing import Any

__all__ = ["native_stderr_to_debug_log"]

log = logging.getLogger("mesovision")

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_capture: Any = None


@contextlib.contextmanager
def native_stderr_to_debug_log(label: str):
    """Send what is written on fd 2 for the duration to the debug log (prefixed by ``label``).

    Nested and concurrent uses share one redirection; anything else written to fd 2 meanwhile
    goes to the debug log too. Wrap only native calls, never our own logging.
    """
    global _depth, _saved_fd, _capture
    with _lock:
        if _depth == 0:
            try:
                sys.stderr.flush()
                capture = tempfile.TemporaryFile()
                saved = os.dup(2)
                os.dup2(capture.fileno(), 2)
            except (OSError, ValueError, AttributeError):  # no usable fd 2: nothing to silence
                saved, capture = None, None
            _saved_fd, _capture = saved, capture
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                capture, _saved_fd, _capture = _capture, None, None
                capture.seek(0)
                text = capture.read(4096).decode("utf-8", errors="replace").strip()
                capture.close()
                if text:
                    log.debug("%s: native code said: %s", label, " | ".join(text.splitlines()))
