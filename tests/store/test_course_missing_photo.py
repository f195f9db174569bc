"""A course's photo file gone: the error names it and says how to get it back, which differs
for a managed copy (only a backup has it) and an original filed without --copy (move it back)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from mesovision.course.cache import photo_path
from mesovision.errors import InputFileError
from mesovision.store import PhotoImport, Store


@pytest.mark.parametrize("copy", [True, False])
def test_a_missing_photo_file_names_the_remedy_for_its_kind(tmp_path, copy):
    src = tmp_path / "before.jpg"
    rgb = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(src, quality=90)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        [photo] = st.import_session(
            "P1", date="2026-01-05", photos=[PhotoImport(str(src))], copy=copy
        )["photos"]
        assert photo_path(st, photo) == photo["file"]
        os.unlink(photo["file"])
        with pytest.raises(InputFileError) as e:
            photo_path(st, photo)
    assert e.value.path == photo["file"]
    assert e.value.message.startswith(f"photo {photo['id']} of session {photo['session_id']} is")
    if copy:
        assert "its copy in the store is gone: restore the store from a backup" in e.value.message
    else:
        assert "move it back, or import photos with --copy" in e.value.message
