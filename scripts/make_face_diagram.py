"""Write the clinic app's face diagram, ``mesovision/app/static/face_regions.svg``.

The ten regions of :mod:`mesovision.regions` are drawn as the polygons the measurement uses, on
the landmarks of the shipped sample face ``sample_images/grace_hopper/before.jpg`` (face oval as
the outline). Each region is a ``<polygon class="region" data-region="<name>">`` that the app's
new-session page makes clickable. Run from the repository root::

    python scripts/make_face_diagram.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.regions import FACE_OVAL, region_polygons

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_images" / "grace_hopper" / "before.jpg"
OUT = REPO / "mesovision" / "app" / "static" / "face_regions.svg"


def _points(poly: np.ndarray, origin: np.ndarray, scale: float) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in (np.asarray(poly) - origin) * scale)


def main() -> None:
    photo = load_photo(SAMPLE, max_side=1024)
    lm = detect_landmarks(photo.rgb, path=str(SAMPLE))
    oval = lm.points[list(FACE_OVAL)]
    lo, hi = oval.min(axis=0) - 10, oval.max(axis=0) + 10
    scale = 300.0 / float(hi[0] - lo[0])
    w, h = (hi - lo) * scale
    polys = region_polygons(lm)
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
        'class="face-diagram" role="group" aria-label="treated areas">',
        f'<polygon class="oval" points="{_points(oval, lo, scale)}"/>',
    ]
    for name, poly in polys.items():
        if name == "face":
            continue
        label = name.replace("_", " ")
        lines.append(
            f'<polygon class="region" data-region="{name}" points="{_points(poly, lo, scale)}">'
            f"<title>{label}</title></polygon>"
        )
    lines.append("</svg>")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(polys)} regions)")


if __name__ == "__main__":
    main()
