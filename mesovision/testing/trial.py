"""A generated clinical trial for the batch runner, its tests, the notebook and the benchmark.

:func:`make_trial` writes ``N subjects x timepoints x views`` JPEGs and a manifest CSV (the format
``mesovision batch`` reads) from the two real face photos shipped with our dependencies
(:func:`mesovision.testing.samples.sample_faces`). **Only two distinct faces exist**: every
subject is a jittered variant of one of them (its own skin redness, framing and lighting), so
subjects are not independent people; the data exercise the machinery and have a known truth,
nothing more.

What is made, all seeded (``seed``; the same arguments give the same bytes):

* subject ``i`` (``S01``, ``S02``, ...) is in arm ``control`` (odd numbers) or ``treated`` (even
  numbers) and uses face ``astronaut`` or ``grace_hopper`` alternately per pair of subjects, so
  both faces are in both arms;
* subject traits: a face-wide CIELAB a* offset ``U(-a_spread, a_spread)`` (between-subject
  spread), a framing scale ``U(0.95, 1.05)`` and a framing shift of up to 4 % of the long side;
* every visit (subject x timepoint): a biological a* fluctuation ``N(0, visit_sd_a)`` over the
  face, shared by the same-day repeats of that visit;
* **treatment effect**: in the ``treated`` arm, a* on both cheeks changes by
  ``effect_delta_a * (t - t0) / (t_last - t0)`` (feathered at the cheek border), growing over the
  timepoints; the control arm gets none. ``truth.json`` gives the expected mean change per
  cheek (the feathered mask's mean weight times the injected shift);
* every capture: pose jitter (angle ``N(0, 1.5)`` deg, scale ``N(1, 0.015)``, shift
  ``N(0, 1 %)`` of the long side) and lighting jitter (gain ``U(0.93, 1.07)``, white balance
  ``U(0.97, 1.03)`` per channel, left-right ramp ``U(-0.06, 0.06)``), written as JPEG
  (quality 92);
* views are in-plane framing variants of the same frontal photo (``front``: as is;
  ``tilt_left``/``tilt_right``: rolled by -/+8 deg and framed 5 % tighter), not true oblique
  views, which a 2-D photo cannot give;
* same-day repeats: at each timepoint in ``repeat_timepoints`` every subject gets a second capture
  (``repeat`` 2: new pose and lighting jitter, same skin), for the measurement error.

The manifest (``manifest.csv``) has the columns ``subject, arm, timepoint, view, repeat, treated,
path`` with paths relative to its folder and ``treated = left_cheek;right_cheek`` for both arms
(the protocol's treatment area, kept out of the lighting reference in both arms).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "make_trial",
    "Trial",
    "VIEWS",
    "TREATED_REGIONS",
    "JPEG_QUALITY",
    "MANIFEST_COLUMNS",
]

#: View name -> (roll in degrees, framing scale): in-plane variants of the frontal photo.
VIEWS: dict[str, tuple[float, float]] = {
    "front": (0.0, 1.0),
    "tilt_left": (-8.0, 1.05),
    "tilt_right": (8.0, 1.05),
}
TREATED_REGIONS = ("left_cheek", "right_cheek")
JPEG_QUALITY = 92
MANIFEST_COLUMNS = ("subject", "arm", "timepoint", "view", "repeat", "treated", "path")


@dataclass(frozen=True)
class Trial:
    """What :func:`make_trial` wrote: the manifest, the photo count and the known truth."""

    manifest: Path
    n_photos: int
    truth: dict


def _base_faces(long_side_px: int):
    """The two sample faces scaled to ``long_side_px``, with their skin and cheek masks."""
    import cv2
    import numpy as np

    from ..landmarks import detect_landmarks
    from ..regions import region_masks
    from .samples import sample_faces

    out = {}
    for name, rgb in sorted(sample_faces().items()):
        k = long_side_px / max(rgb.shape[:2])
        big = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
        big = np.clip(big, 0.0, 1.0).astype(np.float32)
        lm = detect_landmarks(big)
        masks = region_masks(lm, big.shape, rgb=big)
        out[name] = {"rgb": big, "masks": masks, "iod_px": float(lm.interocular_px)}
    return out


def _encode_jpeg(rgb) -> bytes:
    import numpy as np
    from PIL import Image

    u8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def make_trial(
    out_dir: str | os.PathLike[str],
    *,
    n_subjects: int = 8,
    timepoints: tuple[float, ...] = (0, 4, 8, 12),
    views: tuple[str, ...] = ("front",),
    repeat_timepoints: tuple[float, ...] = (0,),
    long_side_px: int = 640,
    effect_delta_a: float = -6.0,
    a_spread: float = 2.5,
    visit_sd_a: float = 0.3,
    seed: int = 20260601,
    force: bool = False,
) -> Trial:
    """Write a generated trial (JPEGs, ``manifest.csv``, ``truth.json``) into ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into (created); photos go to ``out_dir/photos/``.
    n_subjects : int, optional
        Number of subjects (>= 1), alternately in arm ``control`` and ``treated``.
    timepoints : tuple of float, optional
        Visit times (e.g. weeks), increasing; the first is the baseline.
    views : tuple of str, optional
        Names from :data:`VIEWS`.
    repeat_timepoints : tuple of float, optional
        Timepoints with a same-day repeat capture of every subject and view (``repeat`` 2).
    long_side_px : int, optional
        Long side of the photos in pixels (the sample faces are 512-600 px; default 640).
    effect_delta_a : float, optional
        CIELAB a* change on both cheeks at the last timepoint in the treated arm (default -6).
    a_spread : float, optional
        Half-width of the uniform between-subject a* offset over the face.
    visit_sd_a : float, optional
        Standard deviation of the per-visit biological a* fluctuation over the face.
    seed : int, optional
        Seed of every random draw.
    force : bool, optional
        Replace an existing ``manifest.csv``/``truth.json`` and photos.

    Returns
    -------
    Trial
        The manifest path, the number of photos and the truth (also in ``truth.json``).

    Raises
    ------
    ValueError
        Bad arguments (no subject, unknown view, timepoints not increasing).
    OutputExists
        ``manifest.csv`` exists and ``force`` is false (nothing written).
    """
    from ..io import atomic_write_bytes, prepare_output_dir

    tps, reps = _check_args(n_subjects, timepoints, views, repeat_timepoints)
    out = prepare_output_dir(out_dir, ["manifest.csv", "truth.json"], force=force)
    (out / "photos").mkdir(exist_ok=True)
    faces = _base_faces(long_side_px)
    names = sorted(faces)
    rows: list[dict] = []
    subjects = []
    effect = _Effect(tps, effect_delta_a, a_spread, visit_sd_a)
    for i in range(n_subjects):
        face_name = names[(i // 2) % len(names)]
        subject, subject_rows = _write_subject(
            out, i, face_name, faces[face_name], tps, views, reps, effect, seed
        )
        subjects.append(subject)
        rows.extend(subject_rows)
    manifest = _write_manifest(out / "manifest.csv", rows, force=force)
    truth = _truth(faces, tps, views, reps, long_side_px, effect, seed, subjects)
    text = json.dumps(truth, indent=2) + "\n"
    atomic_write_bytes(out / "truth.json", text.encode(), force=force)
    log.info("trial: %d photos, manifest %s", len(rows), manifest)
    return Trial(manifest=manifest, n_photos=len(rows), truth=truth)


def _write_manifest(path: Path, rows: list[dict], *, force: bool) -> Path:
    """Write the manifest CSV (:data:`MANIFEST_COLUMNS`, one row per photo) atomically."""
    from ..io import atomic_write_bytes
    from ..tables import csv_lines

    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    wr.writeheader()
    wr.writerows(rows)
    return atomic_write_bytes(path, csv_lines(buf.getvalue()).encode(), force=force)


def _check_args(n_subjects, timepoints, views, repeat_timepoints) -> tuple[list[float], set]:
    """The timepoints as floats and the repeat timepoints as a set, after checking the
    arguments (``ValueError`` on a bad one)."""
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be >= 1, got {n_subjects}")
    tps = [float(t) for t in timepoints]
    if len(tps) < 1 or any(b <= a for a, b in zip(tps, tps[1:], strict=False)):
        raise ValueError(f"timepoints must be increasing, got {timepoints!r}")
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        raise ValueError(f"unknown view {bad[0] if bad else None!r}; valid: {', '.join(VIEWS)}")
    reps = {float(t) for t in repeat_timepoints}
    if not reps <= set(tps):
        raise ValueError(f"repeat_timepoints {sorted(reps)} not all in timepoints {tps}")
    return tps, reps


@dataclass(frozen=True)
class _Effect:
    """The skin-colour model: timepoints, treatment effect and the a* spreads."""

    tps: list[float]
    effect_delta_a: float
    a_spread: float
    visit_sd_a: float

    def injected(self, arm: str, t: float) -> float:
        """The treatment's a* change on the cheeks at timepoint ``t`` in ``arm``."""
        span = self.tps[-1] - self.tps[0]
        return (
            self.effect_delta_a * (t - self.tps[0]) / span if (arm == "treated" and span) else 0.0
        )


def _write_subject(out: Path, i: int, face_name: str, face: dict, tps, views, reps, effect, seed):
    """Write every capture of subject ``i`` (all timepoints, views and repeats) as JPEGs under
    ``out/photos``. Returns ``(subject, rows)``: its traits and its manifest rows."""
    import numpy as np

    from ..color import lab_to_rgb, rgb_to_lab
    from ..io import atomic_write_bytes
    from .synthetic import soft_mask

    sid = f"S{i + 1:02d}"
    arm = "treated" if i % 2 else "control"
    rgb0, masks, iod = face["rgb"], face["masks"], face["iod_px"]
    long_side = max(rgb0.shape[:2])
    rs = np.random.default_rng([seed, i])
    a_off = float(rs.uniform(-effect.a_spread, effect.a_spread))
    frame_scale = float(rs.uniform(0.95, 1.05))
    frame_shift = rs.uniform(-0.04, 0.04, size=2) * long_side
    face_w = soft_mask(masks["face"], 0.05 * iod)
    cheek_w = sum(soft_mask(masks[r], 0.05 * iod) for r in TREATED_REGIONS)
    lab0 = rgb_to_lab(rgb0)
    rows = []
    for ti, t in enumerate(tps):
        rb = np.random.default_rng([seed, i, ti, 1])
        visit_a = float(rb.normal(0.0, effect.visit_sd_a))
        shift_a = (a_off + visit_a) * face_w + effect.injected(arm, t) * cheek_w
        lab = lab0.copy()
        lab[..., 1] += shift_a.astype(np.float32)
        skin = lab_to_rgb(lab)
        for vi, view in enumerate(views):
            for rep in (1, 2) if t in reps else (1,):
                rc = np.random.default_rng([seed, i, ti, 2, vi, rep])
                lit = _capture(skin, rc, VIEWS[view], frame_scale, frame_shift, long_side)
                tlabel = f"{t:g}"
                rel = f"photos/{sid}_{view}_t{tlabel}" + (f"_r{rep}" if rep > 1 else "") + ".jpg"
                atomic_write_bytes(out / rel, _encode_jpeg(lit), force=True)
                rows.append(
                    {
                        "subject": sid,
                        "arm": arm,
                        "timepoint": tlabel,
                        "view": view,
                        "repeat": rep,
                        "treated": ";".join(TREATED_REGIONS),
                        "path": rel,
                    }
                )
    return {"subject": sid, "arm": arm, "face": face_name, "a_offset": a_off}, rows


def _capture(skin, rc, view: tuple[float, float], frame_scale, frame_shift, long_side):
    """One capture of ``skin``: the view's roll and framing with pose jitter, then lighting
    jitter, all drawn from the generator ``rc``."""
    from .synthetic import apply_lighting, apply_similarity

    roll, vscale = view
    moved, _ = apply_similarity(
        skin,
        angle_deg=roll + float(rc.normal(0.0, 1.5)),
        scale=frame_scale * vscale * float(rc.normal(1.0, 0.015)),
        shift_xy=tuple(frame_shift + rc.normal(0.0, 0.01 * long_side, size=2)),
    )
    return apply_lighting(
        moved,
        gain=float(rc.uniform(0.93, 1.07)),
        white_balance=tuple(float(x) for x in rc.uniform(0.97, 1.03, size=3)),
        ramp=float(rc.uniform(-0.06, 0.06)),
    )


def _truth(faces, tps, views, reps, long_side_px, effect: _Effect, seed, subjects) -> dict:
    """The trial's known truth (``truth.json``): the injected effect per timepoint and the
    share of it expected in each cheek's mean (the feathered mask's mean weight)."""
    from .synthetic import soft_mask

    expected = {}
    for name, f in faces.items():
        feather = 0.05 * f["iod_px"]
        expected[name] = {
            r: float(soft_mask(f["masks"][r], feather)[f["masks"][r]].mean())
            for r in TREATED_REGIONS
        }
    span = tps[-1] - tps[0]
    return {
        "seed": seed,
        "note": "only two distinct faces (astronaut, grace_hopper); subjects are jittered "
        "variants of them",
        "timepoints": tps,
        "views": list(views),
        "repeat_timepoints": sorted(reps),
        "long_side_px": long_side_px,
        "effect": {
            "arm": "treated",
            "metric": "redness.mean_a",
            "regions": list(TREATED_REGIONS),
            "injected_delta_a": {
                f"{t:g}": effect.effect_delta_a * (t - tps[0]) / span + 0.0 if span else 0.0
                for t in tps
            },
            "expected_share_of_injected": expected,
            "note": "expected mean change in a region = injected delta * the feathered mask's "
            "mean weight over the region (expected_share_of_injected, per face)",
        },
        "control_effect": 0.0,
        "subjects": subjects,
    }
