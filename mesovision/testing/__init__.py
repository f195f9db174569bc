"""Test-data builders: known-magnitude changes of real face photos, and a generated trial.

Nothing here is part of the pipeline: the library never imports :mod:`mesovision.testing`
(``tests/testing/test_testing_package.py`` checks that). The tests, ``benchmarks/``,
``scripts/`` and the walkthrough notebook use it to make inputs whose truth is known:

* :mod:`~mesovision.testing.samples`: the two real face photos shipped with scikit-image and
  matplotlib;
* :mod:`~mesovision.testing.synthetic`: 2-D changes (lighting, similarity warps, redness, spots,
  smoothed texture, bruises), each returning its ground truth;
* :mod:`~mesovision.testing.head_turn`: the head turned in 3-D, with the true landmark positions;
* :mod:`~mesovision.testing.capture`: photos that fail a capture check (glare);
* :mod:`~mesovision.testing.swell`: a face contour bulged outward by a thin-plate-spline warp of
  known size, and under-eye puffiness with the shading of a bump lit from above (swelling);
* :mod:`~mesovision.testing.course`: a course document with known bruising and swelling after
  its sessions (the report's side-effect timeline);
* :mod:`~mesovision.testing.trial`: a generated clinical trial (photos, manifest, truth) for the
  batch runner;
* :mod:`~mesovision.testing.cmyk`: a CMYK colour profile of known colours, some outside sRGB.

The submodules are imported on use (``from mesovision.testing.synthetic import ...``), so
importing this package loads nothing heavy.
"""

from __future__ import annotations

__all__ = ["capture", "cmyk", "course", "samples", "synthetic", "head_turn", "swell", "trial"]
