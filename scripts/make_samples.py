"""Make sample_images/ from the real face photos that ship inside our dependencies.

Seeded and deterministic: ``python scripts/make_samples.py`` rewrites the same files. Each pair
folder holds ``before.jpg``, one or more ``after_*.jpg`` and ``truth.json``, which records every
change made (pose, lighting, skin) with its magnitude and where, in the before photo's pixels.

Skin changes are made in the before frame on the before photo's own region masks, then the after
photo gets the pose and lighting change, so the truth is known exactly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mesovision.landmarks import detect_landmarks
from mesovision.regions import region_masks
from mesovision.testing.samples import sample_faces
from mesovision.testing.synthetic import (
    apply_lighting,
    apply_similarity,
    inject_bruise,
    inject_redness,
    inject_spots,
    smooth_texture,
)

UPSCALE = 2  # the shipped faces are small (interocular 43-84 px); 2x gives room for texture
QUALITY = 92
SEED = 20261123


def _save_jpeg(rgb: np.ndarray, path: Path, *, orientation: int = 1) -> None:
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    im = Image.fromarray(u8)
    exif = Image.Exif()
    exif[0x010F] = "mesovision-synthetic"  # Make
    exif[0x0110] = "sample"  # Model
    if orientation != 1:
        # Store the pixels as a sideways phone would and flag the rotation in EXIF.
        inverse = {
            6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270,
            3: Image.Transpose.ROTATE_180,
        }
        im = im.transpose(inverse[orientation])
        exif[0x0112] = orientation
    im.save(path, quality=QUALITY, exif=exif.tobytes())


def make_pair(name: str, rgb: np.ndarray, out: Path, *, seed: int, orientation: int = 1) -> dict:
    rgb = cv2.resize(rgb, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    lm = detect_landmarks(rgb)
    masks = region_masks(lm, rgb.shape, rgb=rgb)
    iod = lm.interocular_px
    spot_r = max(2.0, 0.03 * iod)
    with_spots, spot_mask, centres = inject_spots(
        rgb, masks["right_cheek"], n=6, radius_px=spot_r, delta_L=-14, delta_b=7, seed=seed
    )
    before = with_spots
    # Treated: spots gone (the base photo), redness down on the left cheek, forehead smoother,
    # and an injection bruise on the chin.
    treated = inject_redness(rgb, masks["left_cheek"], delta_a=-5.0, feather_px=0.05 * iod)
    treated = smooth_texture(treated, masks["forehead"], sigma_px=0.02 * iod)
    ys, xs = np.nonzero(masks["chin"])
    bruise_c = (float(xs.mean()), float(ys.mean()))
    bruise_axes = (0.22 * iod, 0.14 * iod)
    treated, bruise_truth = inject_bruise(
        treated, bruise_c, bruise_axes, angle_deg=10, stage="blue-green"
    )
    pose = {"angle_deg": 4.0, "scale": 1.05, "shift_xy": [12.0, -9.0]}
    light = {"gain": 1.12, "white_balance": [1.05, 1.0, 0.93], "gamma": 1.0, "ramp": 0.1}
    afters = {"after_no_change.jpg": before, "after_treated.jpg": treated}
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    _save_jpeg(before, folder / "before.jpg", orientation=orientation)
    for fname, img in afters.items():
        moved, m = apply_similarity(
            img, angle_deg=pose["angle_deg"], scale=pose["scale"], shift_xy=pose["shift_xy"]
        )
        lit = apply_lighting(
            moved,
            gain=light["gain"],
            white_balance=tuple(light["white_balance"]),
            gamma=light["gamma"],
            ramp=light["ramp"],
        )
        _save_jpeg(lit, folder / fname, orientation=orientation)
    cv2.imwrite(str(folder / "truth_bruise_mask.png"), bruise_truth.astype(np.uint8) * 255)
    cv2.imwrite(str(folder / "truth_spot_mask.png"), spot_mask.astype(np.uint8) * 255)
    truth = {
        "source": {
            "astronaut": "skimage.data.astronaut()",
            "grace_hopper": "matplotlib sample grace_hopper.jpg",
        }[name],
        "upscale": UPSCALE,
        "seed": seed,
        "exif_orientation": orientation,
        "frame": "before photo pixels after EXIF orientation (x, y)",
        "interocular_px": iod,
        "pose_after_to_before_inverse": {
            **pose,
            "matrix_before_to_after": m.tolist(),
            "note": "after = similarity(before) about the image centre, then lighting",
        },
        "lighting_after": light,
        "after_no_change.jpg": {"skin_changes": []},
        "after_treated.jpg": {
            "skin_changes": [
                {
                    "region": "right_cheek",
                    "change": "pigmented spots removed",
                    "count": 6,
                    "radius_px": spot_r,
                    "delta_L": -14,
                    "delta_b": 7,
                    "centres_xy": [list(c) for c in centres],
                    "area_px": int(spot_mask.sum()),
                    "mask": "truth_spot_mask.png",
                    "note": "the spots are in before.jpg and after_no_change.jpg",
                },
                {"region": "left_cheek", "change": "redness", "delta_a": -5.0},
                {"region": "forehead", "change": "texture smoothed", "sigma_px": 0.02 * iod},
                {
                    "region": "chin",
                    "change": "bruise",
                    "stage": "blue-green",
                    "center_xy": list(bruise_c),
                    "axes_px": list(bruise_axes),
                    "area_px": int(bruise_truth.sum()),
                    "mask": "truth_bruise_mask.png",
                },
            ]
        },
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def main(out_dir: str = "sample_images") -> None:
    out = Path(out_dir)
    faces = sample_faces()
    make_pair("grace_hopper", faces["grace_hopper"], out, seed=SEED)
    # The astronaut pair is stored sideways with EXIF orientation 6, as phones do.
    make_pair("astronaut", faces["astronaut"], out, seed=SEED + 1, orientation=6)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out}/ ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
