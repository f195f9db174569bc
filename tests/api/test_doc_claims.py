"""What the guide and the notebook state about the API agrees with what it does."""

from __future__ import annotations

import json
import re

from conftest import REPO

import mesovision as mv


def _python_md() -> str:
    return (REPO / "docs" / "python.md").read_text(encoding="utf-8")


def test_the_guide_warns_of_opencv_bgr_arrays():
    inputs = _python_md().split("## Inputs", 1)[1].split("\n## ", 1)[0]
    assert "`cv2.imread` gives **BGR**" in inputs and "img[..., ::-1]" in inputs


def test_the_error_table_names_the_error_each_refusal_raises():
    table = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `mv\.(\w+)`[^|]*\| (.*) \|$", _python_md(), flags=re.M)
    }
    assert table["CaptureError"] == "face too small"  # a turned head is an AlignmentError
    assert "head turned or tilted too far" in table["AlignmentError"]
    capture, alignment = mv.CaptureError.__doc__, mv.AlignmentError.__doc__
    assert "head turned" not in capture.splitlines()[0]  # the exit-code table's line
    assert "is an :class:`AlignmentError` (``check`` ``yaw`` or ``pitch``)" in " ".join(
        capture.split()
    )
    assert "turn (``yaw``) or tilt (``pitch``)" in " ".join(alignment.split())


def test_the_notebook_counts_the_repeat_pairs_it_makes():
    nb = json.loads((REPO / "notebooks" / "walkthrough.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"]]
    trial = next(c for c in cells if "make_trial(" in c)
    n_subjects = int(re.search(r"n_subjects=(\d+)", trial).group(1))
    repeats = re.search(r"repeat_timepoints=\(([^)]*)\)", trial).group(1)
    n_pairs = n_subjects * len([t for t in repeats.split(",") if t.strip()])
    note = next(c for c in cells if c.startswith("## 5. Measurement error"))
    assert n_pairs == 4 and f"The {n_pairs} same-day pairs here" in note


def test_an_array_photo_has_no_path():
    import numpy as np

    p = mv.as_photo(np.zeros((40, 40, 3), np.uint8), name="before")
    assert p.path is None and "``Photo.path`` is ``None``" in " ".join(mv.as_photo.__doc__.split())


def _documented_attributes(cls) -> list[str]:
    """The names of the numpydoc ``Attributes`` section of ``cls``'s docstring."""
    import inspect

    doc = inspect.getdoc(cls) or ""
    assert "\nAttributes\n----------\n" in doc, f"{cls.__name__} has no Attributes section"
    section = doc.split("\nAttributes\n----------\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in section.splitlines():
        if line and not line.startswith(" "):
            names += [n.strip() for n in line.split(" : ", 1)[0].split(",")]
    return names


def test_every_field_of_every_public_record_is_documented():
    """The API reference and ``help()`` show a record's fields from its docstring's Attributes
    section (a comment beside a field reaches no page): every dataclass of ``mv.__all__``
    documents each of its fields, in their order."""
    import dataclasses

    records = [getattr(mv, n) for n in mv.__all__ if dataclasses.is_dataclass(getattr(mv, n))]
    assert {r.__name__ for r in records} >= {
        "Photo", "Alignment", "Landmarks", "HeadPose", "AlignedPair", "Comparison", "ScoredPhoto",
        "SavedComparison", "Change", "NoiseTerms", "Verdict", "Mismatch",
    }  # fmt: skip
    for cls in records:
        fields = [f.name for f in dataclasses.fields(cls)]
        assert _documented_attributes(cls) == fields, cls.__name__
