"""Write tests/baselines/metrics.json: every registered metric on a fixed image and masks.

Run from the repository root after an intended change of a metric:

    python scripts/make_metric_baselines.py

The values are never edited by hand; ``tests/test_metrics.py`` recomputes them and compares.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mesovision
from mesovision.metrics import REGISTRY, score_regions
from mesovision.metrics._samples import sample_face
from mesovision.synthetic import inject_spots

OUT = Path(__file__).resolve().parents[1] / "tests" / "baselines" / "metrics.json"
#: The fixed setting: sample, upscale, regions, scale (an assumed 4 px/mm so that the mm² and
#: per-cm² metrics have values).
SETTING = {
    "sample": "grace_hopper",
    "scale": 1.0,
    "regions": ["face", "forehead", "left_cheek"],
    "px_per_mm": 4.0,
    # seeded pigmented spots (mesovision.synthetic.inject_spots) so that every spot metric has a
    # value in every region
    "spots": {"forehead": [3, 3.0, 1], "left_cheek": [3, 3.0, 2]},  # n, radius_px, seed
}


def compute() -> dict[str, dict[str, float | None]]:
    rgb, masks = sample_face(SETTING["sample"], scale=SETTING["scale"])
    for region, (n, radius, seed) in SETTING["spots"].items():
        rgb, _, _ = inject_spots(rgb, masks[region], n=n, radius_px=radius, seed=seed)
    masks = {k: masks[k] for k in SETTING["regions"]}
    scores = score_regions(rgb, masks, px_per_mm=SETTING["px_per_mm"])
    return {
        region: {k: (None if math.isnan(v) else v) for k, v in sorted(values.items())}
        for region, values in scores.items()
    }


def main() -> None:
    data = {
        "generated_by": "scripts/make_metric_baselines.py",
        "mesovision_version": mesovision.__version__,
        "setting": SETTING,
        "metrics": sorted(REGISTRY),
        "values": compute(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(REGISTRY)} metrics x {len(SETTING['regions'])} regions)")


if __name__ == "__main__":
    main()
