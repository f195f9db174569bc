"""The real face photos that ship inside our dependencies, as float32 sRGB images.

``astronaut``: ``skimage.data.astronaut()`` (512x512, public domain, NASA).
``grace_hopper``: matplotlib's ``grace_hopper.jpg`` sample (512x600).

They are the raw material of the test data: the tests' ``faces`` fixture, the generated trial
(:mod:`mesovision.testing.trial`) and the scripts that make ``sample_images/`` and
``tests/bad_inputs/``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_faces"]


def sample_faces() -> dict[str, np.ndarray]:
    """``{name: rgb}`` for the two face photos shipped with scikit-image and matplotlib."""
    import matplotlib.cbook as cbook
    from PIL import Image
    from skimage import data

    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
        hopper = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return {
        "astronaut": data.astronaut().astype(np.float32) / 255.0,
        "grace_hopper": hopper,
    }
