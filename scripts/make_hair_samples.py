"""Make sample_images/scalp/: a trichoscopy pair rendered with known hair, and its truth.

Seeded and deterministic: ``python scripts/make_hair_samples.py`` rewrites the same files.
``before.jpg`` is a phototrichogram close-up (``mesovision.testing.hair``, 50 px per mm, 512 px:
1.05 cm²); ``after_denser.jpg`` the same patch with 30 % more hairs, turned by 2 degrees, moved
by 0.2 mm and lit 10 % brighter with a ramp; ``after_no_change.jpg`` the same hairs re-rendered
under another light, blur, noise and placement. ``truth.json`` records each photo's true hair
count, density, median shaft width, thin-hair share and visible scalp share, and the settings.

    mesovision compare sample_images/scalp/before.jpg sample_images/scalp/after_denser.jpg \\
        -o out --mode trichoscopy --px-per-mm 50
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mesovision.testing.hair import add_hairs, render, trichogram_field

OUT = Path(__file__).resolve().parents[1] / "sample_images" / "scalp"
PPM = 50.0
FIELD = {"seed": 7, "density_per_cm2": 180.0, "thin_share": 0.2, "hair": "dark", "scalp": "light"}
RENDERS = {
    "before.jpg": {"seed": 1, "blur_px": 0.6, "noise_sd": 0.01},
    "after_denser.jpg": {"seed": 2, "blur_px": 0.6, "noise_sd": 0.01, "angle_deg": 2.0,
                         "shift_mm": [0.2, -0.1], "gain": 1.1, "ramp": 0.1, "denser": 0.3},
    "after_no_change.jpg": {"seed": 3, "blur_px": 0.7, "noise_sd": 0.012, "angle_deg": -2.0,
                            "shift_mm": [-0.2, 0.25], "gain": 0.9, "ramp": -0.1},
}  # fmt: skip
JPEG_QUALITY = 90


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    seed = FIELD["seed"]
    field = trichogram_field(seed, **{k: v for k, v in FIELD.items() if k != "seed"})
    truth = {"px_per_mm": PPM, "field": FIELD, "photos": {}}
    for name, settings in RENDERS.items():
        kw = {k: v for k, v in settings.items() if k != "denser"}
        kw["shift_mm"] = tuple(kw.get("shift_mm", (0.0, 0.0)))
        f = add_hairs(field, settings["denser"], seed + 1) if "denser" in settings else field
        r = render(f, px_per_mm=PPM, **kw)
        img = Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8))
        img.save(OUT / name, quality=JPEG_QUALITY)
        t = r.truth.as_dict()
        del t["widths_um"]
        truth["photos"][name] = {"render": settings, "truth": t}
    (OUT / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
