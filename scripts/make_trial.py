"""Write a generated trial (photos, manifest.csv, truth.json) for ``mesovision batch``.

Seeded and deterministic: the same arguments rewrite the same files. Only two distinct faces
exist (the sample photos shipped with scikit-image and matplotlib); subjects are jittered
variants of them (see :mod:`mesovision.testing.trial`).

Run: python scripts/make_trial.py OUT [--subjects 8] [--timepoints 0,4,8,12]
     [--views front,tilt_left,tilt_right] [--repeats 0] [--side 640] [--seed N] [--force]
"""

from __future__ import annotations

import argparse

from mesovision.testing.trial import VIEWS, make_trial


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to write")
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--timepoints", default="0,4,8,12", help="comma-separated, increasing")
    ap.add_argument("--views", default="front", help=f"comma-separated from {', '.join(VIEWS)}")
    ap.add_argument("--repeats", default="0", help="timepoints with a same-day repeat ('' none)")
    ap.add_argument("--side", type=int, default=640, help="long side of the photos (px)")
    ap.add_argument("--effect", type=float, default=-6.0, help="a* change at the last timepoint")
    ap.add_argument("--seed", type=int, default=20260601)
    ap.add_argument("--force", action="store_true", help="replace an existing trial")
    a = ap.parse_args()
    trial = make_trial(
        a.out,
        n_subjects=a.subjects,
        timepoints=tuple(float(t) for t in a.timepoints.split(",")),
        views=tuple(v.strip() for v in a.views.split(",")),
        repeat_timepoints=tuple(float(t) for t in a.repeats.split(",") if t.strip()),
        long_side_px=a.side,
        effect_delta_a=a.effect,
        seed=a.seed,
        force=a.force,
    )
    print(f"{trial.n_photos} photos; manifest {trial.manifest}")


if __name__ == "__main__":
    main()
