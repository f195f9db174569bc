"""Face landmarks of MediaPipe 0.10.21 (legacy face mesh) against MediaPipe 1.2.3 (Face Landmarker).

Measures, on the same uint8 images given to both versions (the shipped sample photos and the real
photos of ``../shared/faces``):

* the faces each version finds;
* the distance between corresponding landmarks, as % of the interocular distance (IOD, pupils 468
  and 473 of the old points), per landmark group (MediaPipe's face oval, lips, eyes, brows,
  irises and nose sets, :data:`mesovision.align.STABLE_LANDMARKS`, the vertices of the polygons of
  :mod:`mesovision.regions`, all 478), and the systematic part of it (mean offset, x/y scale,
  residual after a 2-D similarity fit, depth scale);
* the overlap (IoU) of every region mask of :func:`mesovision.regions.region_masks`;
* the capture features of :mod:`mesovision.checks` (eye aspect ratio, mouth opening ratio, mouth
  width / IOD) and the head pose of :func:`mesovision.landmarks.head_pose`, and how many
  decisions of the capture thresholds change;
* the legacy face-shape identity distance (``mesovision.identity.shape_distance`` where the
  package has it, else an exact copy of it, :func:`_shape_distance_copy`) over all same-person
  and different-person pairs of the labelled single-face photos, and its AUC.

Photos compared: those where both versions found a face; a photo with several faces (a ``group``
photo, or more than one face seen) only when both kept the same face (centres within
:data:`SAME_FACE_IOD` of the IOD). Both versions get the same uint8 pixels and downscale them the
same way (``cv2.INTER_AREA`` to a long side of 1280).

Commands (the old environment has mediapipe 0.10.21 and cannot import mesovision; see
``docs/landmarks.md`` for how to make it)::

    .venv/bin/python benchmarks/landmark_versions.py prepare --out /tmp/lmv/inputs.npz
    /tmp/venv-old/bin/python benchmarks/landmark_versions.py detect \\
        --inputs /tmp/lmv/inputs.npz --out /tmp/lmv/old.npz
    .venv/bin/python benchmarks/landmark_versions.py detect \\
        --inputs /tmp/lmv/inputs.npz --out /tmp/lmv/new.npz
    .venv/bin/python benchmarks/landmark_versions.py compare /tmp/lmv/old.npz /tmp/lmv/new.npz \\
        [--markdown]

``prepare`` stores the decoded working copies (``load_photo(max_side=2048)``, rounded to uint8)
so that both versions see identical pixels; keep its output outside the repository (the photos
of ``../shared/faces`` must not be copied into it). ``detect`` runs whichever MediaPipe is
importable: the legacy ``mediapipe.python.solutions`` face mesh with the settings of mesovision's
former ``landmarks.py`` (standalone code), else :func:`mesovision.landmarks.detect_landmarks`.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
N_LANDMARKS = 478
PUPILS = (468, 473)
#: Group photos: the two versions' kept faces are the same face when their centres (mean of the
#: 478 points) lie within this share of the IOD.
SAME_FACE_IOD = 0.10
#: The landmark-feature baseline limits of mesovision.checks at commit 11f876c, used where the
#: module no longer defines them (its baseline checks moved to expression scores).
LEGACY_BASELINE_LIMITS = {
    "MAX_EYE_ASPECT_CHANGE": 0.35,
    "MAX_MOUTH_OPEN_CHANGE": 0.10,
    "MAX_MOUTH_WIDTH_CHANGE": 0.10,
}
#: The legacy detector's settings (mesovision's landmarks.py before the move to the Tasks API).
OLD_DETECT_MAX_SIDE = 1280


def faces_dir(arg: str | None) -> Path:
    """The real-photo folder: ``--faces``, else ``$MESOVISION_FACES``, else ``../shared/faces``."""
    return Path(arg or os.environ.get("MESOVISION_FACES") or REPO.parent / "shared" / "faces")


# ---------------------------------------------------------------------------------------- prepare


def prepare(out: Path, faces: Path) -> None:
    """Decode every sample and face photo with ``load_photo(max_side=2048)``; save uint8 copies."""
    from mesovision.io import load_photo

    items = []  # (path, name, source, person, expected faces)
    for p in sorted((REPO / "sample_images").glob("*/*.jpg")):
        items.append((p, f"{p.parent.name}/{p.name}", "sample", p.parent.name, 1))
    with open(faces / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            items.append((faces / row["file"], row["file"], "faces", row["person"], row["faces"]))
    arrays = {}
    t0 = time.perf_counter()
    for i, (p, *_rest) in enumerate(items):
        rgb = load_photo(p, max_side=2048).rgb
        arrays[f"img_{i:04d}"] = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        name=np.array([it[1] for it in items]),
        source=np.array([it[2] for it in items]),
        person=np.array([it[3] for it in items]),
        expected_faces=np.array([int(it[4]) for it in items]),
        **arrays,
    )
    n_s = sum(it[2] == "sample" for it in items)
    print(
        f"prepare: {len(items)} images ({n_s} sample, {len(items) - n_s} faces) -> {out} "
        f"in {time.perf_counter() - t0:.1f} s"
    )


# ----------------------------------------------------------------------------------------- detect


def _old_detector():
    """The legacy face mesh, as mesovision's former ``landmarks.py`` created it."""
    from mediapipe.python.solutions import face_mesh

    model = face_mesh.FaceMesh(
        static_image_mode=True,
        refine_landmarks=True,
        max_num_faces=4,
        min_detection_confidence=0.5,
    )
    model.process(np.zeros((64, 64, 3), np.uint8))

    def detect(img: np.ndarray):
        import cv2

        H, W = img.shape[:2]
        k = min(1.0, OLD_DETECT_MAX_SIDE / max(H, W))
        if k < 1.0:
            small = cv2.resize(img, (round(W * k), round(H * k)), interpolation=cv2.INTER_AREA)
        else:
            small = img
        small = np.ascontiguousarray(small, dtype=np.uint8)
        h, w = small.shape[:2]
        faces = model.process(small).multi_face_landmarks or []
        if not faces:
            return None
        best, best_area = None, -1.0
        for f in faces:
            arr = np.array([(p.x * w, p.y * h, p.z * w) for p in f.landmark], dtype=np.float64)
            span = arr[:, :2].max(0) - arr[:, :2].min(0)
            if span[0] * span[1] > best_area:
                best, best_area = arr, float(span[0] * span[1])
        sx, sy = W / w, H / h
        pts = best[:, :2] * [sx, sy] - 0.5
        return pts, best[:, 2] * sx, len(faces), None

    return detect


def _new_detector():
    """mesovision's own detection (MediaPipe Tasks Face Landmarker)."""
    from mesovision.errors import NoFace
    from mesovision.landmarks import detect_landmarks

    def detect(img: np.ndarray):
        try:
            lm = detect_landmarks(img)
        except NoFace:
            return None
        return lm.points, lm.z, lm.n_faces, lm.transform

    return detect


def detect(inputs: Path, out: Path) -> None:
    """Landmarks of every prepared image with whichever MediaPipe is importable."""
    import logging

    import mediapipe

    logging.basicConfig(level=logging.ERROR)
    try:
        legacy = importlib.util.find_spec("mediapipe.python.solutions") is not None
    except ModuleNotFoundError:
        legacy = False
    run = _old_detector() if legacy else _new_detector()
    api = "solutions.face_mesh" if legacy else "tasks.FaceLandmarker"
    data = np.load(inputs)
    names = data["name"]
    n = len(names)
    points = np.full((n, N_LANDMARKS, 2), np.nan)
    z = np.full((n, N_LANDMARKS), np.nan)
    n_faces = np.zeros(n, int)
    transform = np.full((n, 4, 4), np.nan)
    seconds = np.zeros(n)
    for i in range(n):
        img = data[f"img_{i:04d}"]
        t = time.perf_counter()
        res = run(img)
        seconds[i] = time.perf_counter() - t
        if res is None:
            continue
        points[i], z[i], n_faces[i], m = res
        if m is not None:
            transform[i] = m
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        name=names,
        version=np.array(f"mediapipe {mediapipe.__version__} ({api})"),
        inputs=np.array(str(inputs.resolve())),
        points=points,
        z=z,
        n_faces=n_faces,
        transform=transform,
        seconds=seconds,
    )
    print(
        f"detect: mediapipe {mediapipe.__version__} ({api}), {n} images, "
        f"{int((n_faces > 0).sum())} with a face, {seconds.sum():.1f} s "
        f"(median {1000 * np.median(seconds):.0f} ms/image) -> {out}"
    )


# ---------------------------------------------------------------------------------------- compare


def landmark_groups() -> dict[str, np.ndarray]:
    """Index sets compared: MediaPipe's named sets, the alignment's and regions' points, all."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    from mesovision.align import STABLE_LANDMARKS
    from mesovision.regions import EXCLUDED_POLYGONS, FACE_OVAL, REGION_POLYGONS

    def idx(conns) -> np.ndarray:
        return np.array(sorted({i for c in conns for i in (c.start, c.end)}))

    named = {
        "face oval": "FACE_LANDMARKS_FACE_OVAL",
        "lips": "FACE_LANDMARKS_LIPS",
        "right eye": "FACE_LANDMARKS_RIGHT_EYE",
        "left eye": "FACE_LANDMARKS_LEFT_EYE",
        "right brow": "FACE_LANDMARKS_RIGHT_EYEBROW",
        "left brow": "FACE_LANDMARKS_LEFT_EYEBROW",
        "right iris": "FACE_LANDMARKS_RIGHT_IRIS",
        "left iris": "FACE_LANDMARKS_LEFT_IRIS",
        "nose": "FACE_LANDMARKS_NOSE",
    }
    groups = {k: idx(getattr(C, v)) for k, v in named.items() if hasattr(C, v)}
    groups["pupils (468, 473)"] = np.array(PUPILS)
    groups["align STABLE_LANDMARKS"] = np.array(sorted(set(STABLE_LANDMARKS)))
    polys = [*REGION_POLYGONS.values(), *EXCLUDED_POLYGONS.values(), FACE_OVAL]
    groups["regions polygons"] = np.array(sorted({i for p in polys for i in p}))
    groups["all 478"] = np.arange(N_LANDMARKS)
    return groups


def table(headers: list[str], rows: list[list], markdown: bool) -> str:
    """A markdown table, or aligned plain-text columns."""
    cells = [[str(c) for c in r] for r in rows]
    if markdown:
        headers = [h.replace("|", "\\|") for h in headers]
        cells = [[c.replace("|", "\\|") for c in r] for r in cells]
        lines = ["", "| " + " | ".join(headers) + " |"]
        lines.append("| " + " | ".join("---" if j == 0 else "---:" for j in range(len(headers))))
        lines[-1] += " |"
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join([*lines, ""])
    widths = [max(len(h), *(len(r[j]) for r in cells)) for j, h in enumerate(headers)]
    fmt = [f"{{:<{w}}}" if j == 0 else f"{{:>{w}}}" for j, w in enumerate(widths)]
    lines = ["  ".join(f.format(h) for f, h in zip(fmt, headers, strict=True))]
    lines += ["  ".join(f.format(c) for f, c in zip(fmt, r, strict=True)) for r in cells]
    return "\n".join(lines)


def heading(text: str, markdown: bool) -> None:
    print(f"\n### {text}\n" if markdown else f"\n== {text} ==")


def _iod(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[..., PUPILS[0], :] - points[..., PUPILS[1], :], axis=-1)


def _similarity_residual(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per-point distance between ``dst`` and ``src`` mapped onto it by a 2-D similarity."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    zs = s[:, 0] + 1j * s[:, 1]
    zd = d[:, 0] + 1j * d[:, 1]
    a = np.vdot(zs, zd) / np.vdot(zs, zs)
    fit = a * zs
    return np.abs(fit - zd)


def _auc(same: np.ndarray, diff: np.ndarray) -> float:
    """P(a different-person distance > a same-person one), ties counted half."""
    if len(same) == 0 or len(diff) == 0:
        return float("nan")
    gt = (diff[None, :] > same[:, None]).sum()
    eq = (diff[None, :] == same[:, None]).sum()
    return float((gt + 0.5 * eq) / (len(same) * len(diff)))


def _landmarks(points, z, n_faces, shape):
    from mesovision.landmarks import head_pose
    from mesovision.types import Landmarks

    return Landmarks(
        points=points,
        z=z,
        image_size=(int(shape[1]), int(shape[0])),
        n_faces=int(n_faces),
        pose=head_pose(points, z),
    )


def _shape_distance_copy(before, after) -> float:
    """The legacy face-shape distance of ``mesovision.identity`` (commit 11f876c), verbatim in
    effect: RMS distance between the before mesh and the after mesh mapped onto it by a least-
    squares 3-D similarity (Umeyama 1991) over the 468 mesh points ``(x, y, z)``, divided by the
    before photo's interocular distance."""
    b = np.c_[before.points[:468], before.z[:468]].astype(np.float64)
    a = np.c_[after.points[:468], after.z[:468]].astype(np.float64)
    mu_s, mu_d = a.mean(axis=0), b.mean(axis=0)
    s, d = a - mu_s, b - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(a))
    sign = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = (u * sign) @ vt
    var_s = float((s**2).sum() / len(a))
    scale = float((sig * sign).sum() / var_s) if var_s > 0 else 1.0
    fitted = scale * s @ rot.T + mu_d
    rms = float(np.sqrt(np.mean(np.sum((fitted - b) ** 2, axis=1))))
    iod = before.interocular_px
    return rms / iod if iod > 0 else float("inf")


def legacy_shape_distance():
    """``(function, threshold, origin)``: ``mesovision.identity.shape_distance`` and
    ``MAX_SHAPE_DISTANCE_IOD`` where the package still has them, else the copy above and the
    legacy threshold 0.05."""
    try:
        from mesovision.identity import MAX_SHAPE_DISTANCE_IOD, shape_distance
    except ImportError:
        return _shape_distance_copy, 0.05, "copy of the legacy mesovision.identity.shape_distance"
    return shape_distance, MAX_SHAPE_DISTANCE_IOD, "mesovision.identity.shape_distance"


def compare(old_path: Path, new_path: Path, inputs_path: Path | None, markdown: bool) -> None:
    """Print every comparison table (see the module docstring)."""
    from mesovision import checks

    shape_distance, MAX_SHAPE_DISTANCE_IOD, origin = legacy_shape_distance()
    from mesovision.landmarks import pose_from_matrix
    from mesovision.regions import REGION_NAMES, region_masks

    t0 = time.perf_counter()
    old, new = np.load(old_path), np.load(new_path)
    if not np.array_equal(old["name"], new["name"]):
        sys.exit("compare: OLD and NEW were not run on the same inputs")
    inputs = np.load(inputs_path or Path(str(old["inputs"])))
    names, source, person = inputs["name"], inputs["source"], inputs["person"]
    expected = inputs["expected_faces"]
    po, pn, zo, zn = old["points"], new["points"], old["z"], new["z"]
    found_o, found_n = old["n_faces"] > 0, new["n_faces"] > 0
    print(f"OLD: {old['version']}\nNEW: {new['version']}")
    print(
        f"detection time: old {old['seconds'].sum():.1f} s, new {new['seconds'].sum():.1f} s "
        f"(median {1000 * np.median(old['seconds']):.0f} / "
        f"{1000 * np.median(new['seconds']):.0f} ms per image)"
    )
    group = person == "group"
    sets = {"sample": source == "sample", "faces": source == "faces"}

    # Faces found.
    heading("Faces found", markdown)
    rows = []
    for label, sel in [
        ("sample photos", sets["sample"]),
        ("faces: single-face photos", sets["faces"] & ~group),
        ("faces: group photos", sets["faces"] & group),
    ]:
        rows.append(
            [
                label,
                int(sel.sum()),
                int((sel & found_o).sum()),
                int((sel & found_n).sum()),
                int((sel & found_o & ~found_n).sum()),
                int((sel & found_n & ~found_o).sum()),
                int(old["n_faces"][sel].sum()),
                int(new["n_faces"][sel].sum()),
                int(expected[sel].sum()),
            ]
        )
    hdr = ["photos", "n", "old found", "new found", "old only", "new only"]
    hdr += ["faces seen old", "faces seen new", "faces (faces.csv)"]
    print(table(hdr, rows, markdown))
    for lab, sel in (("old only", found_o & ~found_n), ("new only", found_n & ~found_o)):
        if sel.any():
            print(f"face found by {lab}: {', '.join(names[sel])}")
    differ = (old["n_faces"] != new["n_faces"]) & found_o & found_n
    if differ.any():
        print(
            "faces seen differ: "
            + ", ".join(
                f"{nm} ({a}/{b})"
                for nm, a, b in zip(
                    names[differ], old["n_faces"][differ], new["n_faces"][differ], strict=True
                )
            )
        )

    # Same face.
    both = found_o & found_n
    iod = np.where(both, _iod(po), np.nan)
    centre_d = np.linalg.norm(po.mean(1) - pn.mean(1), axis=1) / iod
    several = group | (old["n_faces"] > 1) | (new["n_faces"] > 1)
    other_face = both & (centre_d > SAME_FACE_IOD)
    use = both & ~(other_face & several)
    excl = other_face & several
    print(
        f"\ncompared: {int(use.sum())} images with a face in both "
        f"({int((use & sets['sample']).sum())} sample, {int((use & sets['faces']).sum())} faces); "
        f"{int(excl.sum())} photos with several faces (group photos, or more than one face seen) "
        f"excluded because the two versions kept different faces (centres > "
        f"{100 * SAME_FACE_IOD:.0f} % IOD apart)"
        + (
            ": " + ", ".join(f"{nm} ({100 * d:.0f} %)" for nm, d in zip(
                names[excl], centre_d[excl], strict=True))
            if excl.any() else ""
        )
    )  # fmt: skip
    if (other_face & ~several).any():
        print(
            "single-face photos with centres > 10 % IOD apart (kept): "
            + ", ".join(f"{nm} ({100 * d:.0f} %)" for nm, d in zip(
                names[other_face & ~several], centre_d[other_face & ~several], strict=True))
        )  # fmt: skip
    ds = {k: use & v for k, v in sets.items()}
    iod_px = {k: iod[v] for k, v in ds.items()}
    print(
        "IOD (old) px: "
        + "; ".join(
            f"{k} median {np.median(v):.0f} (range {v.min():.0f}-{v.max():.0f})"
            for k, v in iod_px.items()
        )
    )

    # Point distances.
    dist = np.linalg.norm(pn - po, axis=2) / iod[:, None] * 100  # (n, 478), % IOD
    heading("Point distance new vs old, % of the IOD (pooled over images x points)", markdown)
    groups = landmark_groups()
    rows = []
    for g, ix in groups.items():
        row = [f"{g} ({len(ix)})"]
        for k in ds:
            d = dist[ds[k]][:, ix].ravel()
            row += [f"{d.mean():.2f}", f"{np.median(d):.2f}", f"{np.percentile(d, 95):.2f}"]
            row += [f"{d.max():.1f}"]
        rows.append(row)
    hdr = ["group (points)"]
    for k in ds:
        hdr += [f"{k} mean", f"{k} median", f"{k} p95", f"{k} max"]
    print(table(hdr, rows, markdown))
    per_img = np.full(len(names), -1.0)
    per_img[use] = dist[use].mean(axis=1)
    worst = [i for i in np.argsort(-per_img) if use[i]][:6]
    print(
        "largest per-image mean (all 478, % IOD): "
        + ", ".join(
            f"{names[i]} {per_img[i]:.1f} (max {dist[i].max():.0f}, IOD {iod[i]:.0f} px)"
            for i in worst
        )
    )

    # Direction of the displacement, in the face's frame.
    heading(
        "Mean displacement new minus old in the face's frame, % IOD (across: toward the "
        "patient's left; down: toward the chin; axes from the old pupils)",
        markdown,
    )
    a = (po[:, PUPILS[1]] - po[:, PUPILS[0]]) / iod[:, None]
    across = ((pn - po) * a[:, None, :]).sum(2) / iod[:, None] * 100
    down = ((pn - po) * np.c_[-a[:, 1], a[:, 0]][:, None, :]).sum(2) / iod[:, None] * 100
    rows = []
    for g, ix in groups.items():
        row = [g]
        for sel in ds.values():
            row += [f"{across[sel][:, ix].mean():+.2f}", f"{down[sel][:, ix].mean():+.2f}"]
        rows.append(row)
    hdr = ["group"]
    for k in ds:
        hdr += [f"{k} across", f"{k} down"]
    print(table(hdr, rows, markdown))

    # Systematic part.
    heading("Systematic part of the difference (new vs old, per image)", markdown)
    rows = []
    for k, sel in ds.items():
        ii = np.nonzero(sel)[0]
        off = (pn[ii] - po[ii]).mean(1)  # px
        off_iod = off / iod[ii, None] * 100
        sx = pn[ii, :, 0].std(1) / po[ii, :, 0].std(1)
        sy = pn[ii, :, 1].std(1) / po[ii, :, 1].std(1)
        res = np.array([_similarity_residual(pn[i], po[i]).mean() / iod[i] * 100 for i in ii])
        zs = zn[ii].std(1) / zo[ii].std(1)
        iod_ratio = _iod(pn[ii]) / iod[ii]
        rows.append(
            [
                k,
                f"{off[:, 0].mean():+.2f} / {off[:, 1].mean():+.2f}",
                f"{off_iod[:, 0].mean():+.2f} / {off_iod[:, 1].mean():+.2f}",
                f"{np.abs(off_iod).max():.1f}",
                f"{sx.mean():.4f} / {sy.mean():.4f}",
                f"{iod_ratio.mean():.4f} ({iod_ratio.min():.3f}-{iod_ratio.max():.3f})",
                f"{dist[ii].mean():.2f}",
                f"{res.mean():.2f}",
                f"{zs.mean():.3f} ({zs.min():.2f}-{zs.max():.2f})",
            ]
        )
    hdr = ["photos", "mean offset x / y px", "mean offset x / y % IOD", "max abs offset % IOD"]
    hdr += ["spread ratio x / y", "IOD ratio (range)", "mean dist % IOD"]
    hdr += ["after 2-D similarity fit", "z spread ratio (range)"]
    print(table(hdr, rows, markdown))

    # Region masks.
    heading("Region masks: IoU of old-landmark and new-landmark masks", markdown)
    ious = {r: np.full(len(names), np.nan) for r in REGION_NAMES}
    area_ratio = {r: np.full(len(names), np.nan) for r in REGION_NAMES}
    for i in np.nonzero(use)[0]:
        img = inputs[f"img_{i:04d}"]
        rgb = img.astype(np.float32) / 255
        mo = region_masks(_landmarks(po[i], zo[i], old["n_faces"][i], img.shape), img.shape,
                          rgb=rgb)  # fmt: skip
        mn = region_masks(_landmarks(pn[i], zn[i], new["n_faces"][i], img.shape), img.shape,
                          rgb=rgb)  # fmt: skip
        for r in REGION_NAMES:
            union = (mo[r] | mn[r]).sum()
            if union:
                ious[r][i] = (mo[r] & mn[r]).sum() / union
                area_ratio[r][i] = mn[r].sum() / max(mo[r].sum(), 1)
    rows = []
    for r in REGION_NAMES:
        row = [r]
        for sel in ds.values():
            v = ious[r][sel]
            j = np.nanargmin(v)
            row += [f"{np.nanmean(v):.3f}", f"{np.nanmin(v):.3f}"]
            row += [f"{np.nanmean(area_ratio[r][sel]):.3f}"]
            if sel is ds["faces"]:
                row += [str(names[sel][j])]
        rows.append(row)
    hdr = ["region"]
    for k in ds:
        hdr += [f"{k} mean IoU", f"{k} min IoU", f"{k} area new/old"]
    hdr += ["faces: min at"]
    print(table(hdr, rows, markdown))
    big = use & (iod >= 60)
    if (big & sets["faces"]).any():
        print(
            f"faces with IOD >= 60 px ({int((big & sets['faces']).sum())} photos): mean IoU "
            + ", ".join(f"{r} {np.nanmean(ious[r][big & sets['faces']]):.3f}"
                        for r in REGION_NAMES)
        )  # fmt: skip

    # Capture features and pose.
    heading("Capture features and head pose: new minus old", markdown)
    feats = {
        "eye aspect ratio": checks.eye_aspect_ratio,
        "mouth open ratio": checks.mouth_open_ratio,
        "mouth width / IOD": checks.mouth_width_iod,
    }
    vals = {}
    for f, fn in feats.items():
        vals[f] = tuple(
            np.array([fn(p[i]) if use[i] else np.nan for i in range(len(names))]) for p in (po, pn)
        )
    poses = [
        [_landmarks(p[i], zz[i], 1, (1, 1)).pose if use[i] else None for i in range(len(names))]
        for p, zz in ((po, zo), (pn, zn))
    ]
    for a in ("yaw", "pitch", "roll"):
        vals[f"{a} (deg)"] = tuple(
            np.array([getattr(ps[i], f"{a}_deg") if use[i] else np.nan for i in range(len(names))])
            for ps in poses
        )
    mat = [
        pose_from_matrix(new["transform"][i]) if use[i] and np.isfinite(new["transform"][i]).all()
        else None
        for i in range(len(names))
    ]  # fmt: skip
    for a in ("yaw", "pitch", "roll"):
        vals[f"{a} (deg), new from matrix"] = (
            vals[f"{a} (deg)"][0],
            np.array([getattr(m, f"{a}_deg") if m else np.nan for m in mat]),
        )
    rows = []
    for f, (vo, vn) in vals.items():
        row = [f]
        for sel in ds.values():
            d = (vn - vo)[sel]
            row += [f"{np.nanmean(vo[sel]):.3f}", f"{np.nanmean(vn[sel]):.3f}"]
            row += [f"{np.nanmean(d):+.3f}", f"{np.nanmean(np.abs(d)):.3f}"]
            row += [f"{np.nanmax(np.abs(d)):.3f}"]
        d = np.where(ds["faces"], np.abs(vn - vo), -1.0)
        row += [str(names[int(np.argmax(d))])]
        rows.append(row)
    hdr = ["feature"]
    for k in ds:
        hdr += [f"{k} old mean", f"{k} new mean", f"{k} mean diff", f"{k} mean abs"]
        hdr += [f"{k} max abs"]
    hdr += ["faces: max at"]
    print(table(hdr, rows, markdown))
    print("(the last three rows: the new Face Landmarker's transformation-matrix pose, "
          "mesovision.landmarks.pose_from_matrix, against the old mesh-vector pose)")  # fmt: skip

    # The same photo measured by old (as a stored baseline) and new: the baseline comparisons.
    heading("Same photo, old features as the baseline of new ones (all compared photos)", markdown)
    base = [
        ("eye aspect ratio: |new / old - 1|", "eye aspect ratio", True, "MAX_EYE_ASPECT_CHANGE"),
        ("mouth open ratio: |new - old|", "mouth open ratio", False, "MAX_MOUTH_OPEN_CHANGE"),
        ("mouth width / IOD: |new / old - 1|", "mouth width / IOD", True,
         "MAX_MOUTH_WIDTH_CHANGE"),
        ("yaw: |new - old| (deg)", "yaw (deg)", False, "MAX_YAW_DIFFERENCE_DEG"),
        ("pitch: |new - old| (deg)", "pitch (deg)", False, "MAX_PITCH_DIFFERENCE_DEG"),
    ]  # fmt: skip
    rows = []
    for label, f, rel, limit in base:
        vo, vn = (v[use] for v in vals[f])
        d = np.abs(vn / vo - 1) if rel else np.abs(vn - vo)
        lim = getattr(checks, limit, None)
        if lim is None and limit in LEGACY_BASELINE_LIMITS:
            lim, limit = LEGACY_BASELINE_LIMITS[limit], f"legacy {limit}"
        rows.append(
            [
                label,
                f"{np.median(d):.3f}",
                f"{np.percentile(d, 95):.3f}",
                f"{d.max():.3f}",
                "-" if lim is None else f"{lim:g} ({limit})",
                "-" if lim is None else f"{np.percentile(d, 95) / lim:.0%}",
                "-" if lim is None else int((d > lim).sum()),
            ]
        )
    hdr = ["change", "median", "p95", "max", "limit in checks.py", "p95 / limit", "over limit"]
    print(table(hdr, rows, markdown))

    # Threshold decisions.
    heading("Capture threshold decisions (all compared photos)", markdown)
    rules = [
        ("eyes_open: EAR < 0.15", "eye aspect ratio", lambda v: v < checks.MIN_EYE_ASPECT_RATIO),
        ("mouth_closed: ratio > 0.25", "mouth open ratio",
         lambda v: v > checks.MAX_MOUTH_OPEN_RATIO),
        ("head_yaw: |yaw| > 10", "yaw (deg)", lambda v: np.abs(v) > checks.MAX_YAW_FRONT_DEG),
        ("head_pitch: |pitch| > 12", "pitch (deg)", lambda v: np.abs(v) > checks.MAX_PITCH_DEG),
        ("head_roll: |roll| > 10", "roll (deg)", lambda v: np.abs(v) > checks.MAX_ROLL_DEG),
    ]  # fmt: skip
    rows = []
    for label, f, rule in rules:
        vo, vn = vals[f]
        fo, fn_ = rule(vo) & use, rule(vn) & use
        flips = use & (fo != fn_)
        rows.append(
            [
                label,
                int(fo.sum()),
                int(fn_.sum()),
                int((fo & ~fn_).sum()),
                int((fn_ & ~fo).sum()),
                ", ".join(f"{nm} ({a:.2f}->{b:.2f})" for nm, a, b in zip(
                    names[flips], vo[flips], vn[flips], strict=True)) or "-",
            ]
        )  # fmt: skip
    print(table(["check", "fail old", "fail new", "old only", "new only", "changed"], rows,
                markdown))  # fmt: skip
    heading("Sample photos: features per photo (old -> new)", markdown)
    rows = []
    for i in np.nonzero(ds["sample"])[0]:
        rows.append(
            [names[i]]
            + [f"{vals[f][0][i]:.3f} -> {vals[f][1][i]:.3f}" for f in ("eye aspect ratio",
               "mouth open ratio", "mouth width / IOD")]
            + [f"{vals[f][0][i]:+.1f} -> {vals[f][1][i]:+.1f}" for f in ("yaw (deg)",
               "pitch (deg)", "roll (deg)")]
        )  # fmt: skip
    hdr = ["photo", "EAR", "mouth open", "mouth width / IOD", "yaw", "pitch", "roll"]
    print(table(hdr, rows, markdown))

    # Identity.
    heading("Identity: legacy mesh-shape distance (mesovision.identity.shape_distance)", markdown)
    single = use & sets["faces"] & ~group & ~np.char.startswith(person.astype(str), "unknown_")
    ii = np.nonzero(single)[0]
    labelled = sets["faces"] & ~group & ~np.char.startswith(person.astype(str), "unknown_")
    lms = {
        v: [_landmarks(p[i], zz[i], 1, inputs[f"img_{i:04d}"].shape) for i in range(len(names))]
        for v, p, zz in (("old", po, zo), ("new", pn, zn))
    }
    pairs = [(a, b) for k, a in enumerate(ii) for b in ii[k + 1 :]]
    same = np.array([person[a] == person[b] for a, b in pairs])
    crop = np.char.startswith(names.astype(str), "dl_John_")
    both_crop = np.array([crop[a] and crop[b] for a, b in pairs])
    no_crop = np.array([not crop[a] and not crop[b] for a, b in pairs])
    print(
        f"{len(ii)} of {int(labelled.sum())} labelled single-face photos with a face in both "
        f"versions; {len(pairs)} pairs: {int(same.sum())} same-person, "
        f"{int((~same).sum())} different-person (distance of each pair computed once, the first "
        f"photo in faces.csv order as 'before'; threshold {MAX_SHAPE_DISTANCE_IOD}; {origin})"
    )
    dists, gated = {}, {}
    for v in ("old", "new"):
        L = lms[v]
        dists[v] = np.array([shape_distance(L[a], L[b]) for a, b in pairs])
        gated[v] = np.array(
            [
                abs(L[a].pose.yaw_deg - L[b].pose.yaw_deg) <= 15
                and abs(L[a].pose.pitch_deg - L[b].pose.pitch_deg) <= 15
                for a, b in pairs
            ]
        )
    rows = []
    for v in ("old", "new"):
        d = dists[v]
        for label, sub in [
            ("all pairs", np.ones(len(pairs), bool)),
            ("pose-gated (|dyaw|, |dpitch| <= 15)", gated[v]),
            ("both 150x150 crops", both_crop),
            ("both full photos", no_crop),
        ]:
            s, o = d[sub & same], d[sub & ~same]
            if len(s) == 0 or len(o) == 0:
                continue
            rows.append(
                [
                    v,
                    label,
                    f"{len(s)} / {len(o)}",
                    f"{s.min():.3f}-{np.median(s):.3f}-{s.max():.3f}",
                    f"{o.min():.3f}-{np.median(o):.3f}-{o.max():.3f}",
                    f"{_auc(s, o):.3f}",
                    f"{(s > MAX_SHAPE_DISTANCE_IOD).mean():.2f}",
                    f"{(o <= MAX_SHAPE_DISTANCE_IOD).mean():.2f}",
                ]
            )
    hdr = ["points", "pairs", "n same / diff", "same min-median-max", "diff min-median-max"]
    hdr += ["AUC", "same > 0.05", "diff <= 0.05"]
    print(table(hdr, rows, markdown))
    samp = np.nonzero(use & sets["sample"])[0]
    if len(samp) > 1:
        sp = [(a, b) for k, a in enumerate(samp) for b in samp[k + 1 :]]
        ssame = np.array([person[a] == person[b] for a, b in sp])
        rows = []
        for v in ("old", "new"):
            d = np.array([shape_distance(lms[v][a], lms[v][b]) for a, b in sp])
            rows.append(
                [
                    v,
                    f"{d[ssame].min():.3f}-{d[ssame].max():.3f}",
                    f"{d[~ssame].min():.3f}-{d[~ssame].max():.3f}",
                ]
            )
        print(f"\nsample photos ({int(ssame.sum())} same-person, {int((~ssame).sum())} "
              "different-person pairs):")  # fmt: skip
        print(table(["points", "same-person range", "different-person range"], rows, markdown))
    dd = dists["new"] - dists["old"]
    print(
        f"new minus old distance per pair: mean {dd.mean():+.4f}, median {np.median(dd):+.4f}, "
        f"mean abs {np.abs(dd).mean():.4f}; correlation old/new "
        f"{np.corrcoef(dists['old'], dists['new'])[0, 1]:.3f}"
    )
    print(f"\ncompare: {time.perf_counter() - t0:.1f} s")


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="decode the photos into uint8 working copies (new env)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--faces", help="the faces folder (default $MESOVISION_FACES, ../shared/faces)")
    p = sub.add_parser("detect", help="landmarks with the importable MediaPipe (old or new env)")
    p.add_argument("--inputs", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("compare", help="compare OLD and NEW landmarks (new env)")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--inputs", type=Path, help="default: the inputs recorded by detect")
    p.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(args.out, faces_dir(args.faces))
    elif args.cmd == "detect":
        detect(args.inputs, args.out)
    else:
        compare(args.old, args.new, args.inputs, args.markdown)


if __name__ == "__main__":
    main()
