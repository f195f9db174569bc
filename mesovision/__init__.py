"""mesovision: measured, comparable evidence from before/after treatment photos.

Two photos of the same face (or body area) in, per-region skin measures out: the after photo is
aligned onto the before photo, the lighting is normalized on skin the treatment does not reach,
each photo is scored in its own frame, and every change comes with a standard error, a test and
a comparability verdict for its metric family.

A short tour
------------
>>> import mesovision as mv
>>> before, after = mv.sample_pair()  # the shipped sample photos
>>> r = mv.compare(before, after, treated=["left_cheek", "right_cheek"])
>>> r.to_frame().columns[:4].tolist()
['region', 'metric', 'family', 'unit']

* :func:`compare` -- align, normalize and score two photos; returns a :class:`Comparison`
  (``r.changes[region][metric]`` is a :class:`Change`; ``r.significant()``, ``r.to_frame()``
  for a tidy pandas table, ``r.save(folder)`` for the files ``mesovision compare`` writes).
* :func:`align` -- the alignment alone; returns an :class:`AlignedPair`.
* :func:`load_photo` -- decode a file into a :class:`Photo`; :func:`as_photo` wraps an array.
* :func:`metrics` -- the registered metrics (:class:`MetricInfo`: name, family, unit, direction).
* :func:`sample_pair` -- paths of a shipped before/after sample pair.
* :func:`load_result` -- a saved comparison (``r.save(folder)``) read back: a
  :class:`SavedComparison` with the same ``changes``, ``to_frame()`` and ``to_dict()``.
* Errors: every refusal is a :class:`MesovisionError` subclass (:class:`NoFace`,
  :class:`CaptureError`, :class:`AlignmentError`, :class:`InvalidImage`, ...) whose message
  names the file, the value seen and the limit.

Images may be given as file paths, :class:`Photo` objects or NumPy arrays. Array convention
(used by every module): an image is RGB shaped ``(row, col, 3)``, sRGB-encoded; ``uint8`` is
read as 0-255, ``uint16`` as 0-65535 and a float array must hold values in ``[0, 1]``; internally
images are ``float32`` in ``[0, 1]``. Masks are ``bool`` ``(row, col)``; points are pixel
``(x, y)`` in the frame of the image they were measured on (the working copy unless a name says
``original``).

``mesovision.compare``, ``mesovision.align`` and ``mesovision.metrics`` are also submodules;
calling them runs the API function, and ``help()`` on them shows the function's page first (see
:mod:`mesovision._lazy`). ``help(mesovision.api)``
shows every function's full page, with options and examples; the Python guide is
``docs/python.md``; the command line is ``mesovision --help``.
"""

import sys as _sys
from typing import TYPE_CHECKING

from . import _lazy
from ._version import __version__

if TYPE_CHECKING:  # the public names as type checkers see them (_lazy.PUBLIC at run time)
    from .aligned_pair import AlignedPair as AlignedPair
    from .api import ImageLike as ImageLike
    from .api import align as align
    from .api import as_photo as as_photo
    from .api import compare as compare
    from .api import load_photo as load_photo
    from .api import metrics as metrics
    from .api import sample_pair as sample_pair
    from .comparability_records import Mismatch as Mismatch
    from .comparability_records import Verdict as Verdict
    from .compare import Comparison as Comparison
    from .errors import AlignmentError as AlignmentError
    from .errors import CaptureError as CaptureError
    from .errors import IdentityMismatch as IdentityMismatch
    from .errors import InputFileError as InputFileError
    from .errors import InvalidImage as InvalidImage
    from .errors import LightingError as LightingError
    from .errors import MesovisionError as MesovisionError
    from .errors import NoFace as NoFace
    from .errors import OutputError as OutputError
    from .errors import OutputExists as OutputExists
    from .errors import UsageError as UsageError
    from .noise_records import Change as Change
    from .noise_records import NoiseTerms as NoiseTerms
    from .saved import SavedComparison as SavedComparison
    from .saved import load_result as load_result
    from .scored_photo import ScoredPhoto as ScoredPhoto
    from .types import Alignment as Alignment
    from .types import CaptureInfo as CaptureInfo
    from .types import HeadPose as HeadPose
    from .types import Landmarks as Landmarks
    from .types import MetricInfo as MetricInfo
    from .types import Photo as Photo

__all__ = ["__version__", *sorted(_lazy.PUBLIC)]

_sys.modules[__name__].__class__ = _lazy.Package

if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is an error there

    def __getattr__(name: str):
        return _lazy.lazy_attribute(_sys.modules[__name__], name)


def __dir__() -> list[str]:
    return sorted(__all__)
