"""Make sample_images/thigh/: a thigh pair rendered with known cellulite and stretch marks.

Seeded and deterministic: ``python scripts/make_body_samples.py`` rewrites the same files.
``before.jpg`` is a 10 x 10 cm patch of thigh skin (``mesovision.testing.body``, 4 px per mm,
400 px) with dimples and three stretch marks, lit by a raking lamp from the upper left;
``after_treated.jpg`` the same skin with 40 % of the dimples gone and the rest half as deep,
turned by 2 degrees, moved by 2 mm and exposed 5 % brighter, the lamp 3 degrees off;
``after_no_change.jpg`` the same skin re-rendered under another blur, noise, exposure and
placement, the lamp 3 degrees off the other way. ``truth.json`` records each photo's true
dimple count, dimple area and share, streak count, length, area and red-purple share, the
lamp's direction and the settings.

    mesovision compare sample_images/thigh/before.jpg sample_images/thigh/after_treated.jpg \\
        -o out --mode body --px-per-mm 4
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mesovision.testing.body import body_field, render, treat

OUT = Path(__file__).resolve().parents[1] / "sample_images" / "thigh"
PPM = 4.0
SIZE_PX = 400
FIELD = {"seed": 21, "dimples_per_cm2": 0.4, "streaks": 3, "red_share": 0.5, "tone": "light"}
TREATMENT = {"removed": 0.4, "shallower": 0.5, "seed": 22}
RENDERS = {
    "before.jpg": {"seed": 1, "blur_px": 0.6, "noise_sd": 0.01, "light_azimuth_deg": 140.0},
    "after_treated.jpg": {"seed": 2, "blur_px": 0.7, "noise_sd": 0.01, "angle_deg": 2.0,
                          "shift_mm": [2.0, -1.0], "gain": 1.05, "light_azimuth_deg": 143.0,
                          "treated": True},
    "after_no_change.jpg": {"seed": 3, "blur_px": 0.7, "noise_sd": 0.012, "angle_deg": -2.0,
                            "shift_mm": [-1.5, 1.5], "gain": 0.95, "light_azimuth_deg": 137.0},
}  # fmt: skip
JPEG_QUALITY = 88


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    seed = FIELD["seed"]
    field = body_field(seed, **{k: v for k, v in FIELD.items() if k != "seed"})
    truth = {"px_per_mm": PPM, "field": FIELD, "treatment": TREATMENT, "photos": {}}
    for name, settings in RENDERS.items():
        kw = {k: v for k, v in settings.items() if k != "treated"}
        kw["shift_mm"] = tuple(kw.get("shift_mm", (0.0, 0.0)))
        f = treat(field, **TREATMENT) if settings.get("treated") else field
        r = render(f, px_per_mm=PPM, size_px=SIZE_PX, **kw)
        img = Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8))
        img.save(OUT / name, quality=JPEG_QUALITY)
        truth["photos"][name] = {"render": settings, "truth": r.truth.as_dict()}
    (OUT / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
