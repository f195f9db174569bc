"""Head pose: the mesh-vector estimator against the transformation-matrix one, on real faces.

For every usable single-face photo of the shared face set (plus the two sample faces) the face is
detected on the photo, then on synthetic versions whose pose change is known:

* yaw turns of -15..+15 deg and pitch turns of -10..+10 deg, re-rendered in 3-D from the face
  mesh (:func:`mesovision.testing.head_turn.turn_head`: orthographic, MediaPipe's own depth);
* in-plane rotations of -10..+10 deg about the image centre (a camera roll; truth: roll only);
* the mirror image (truth: yaw and roll negate, pitch unchanged);
* reframings: the same pixels on a canvas grown by half its height (or width) on one side, so
  that the face sits off-centre (truth: no change at all).

Each estimator's measured pose difference (synthetic - original) is scored against the applied
one, per axis and per condition. Also printed: the spread of the absolute pose on the original
photos, and the pitch offset that makes frontal photos read 0, fitted on half of the people and
checked on the other half.

Run: python benchmarks/pose.py [--faces DIR] [--limit N] [--json FILE]
     python benchmarks/pose.py --report FILE   (the tables again from a --json file)
The face folder defaults to ``$MESOVISION_FACES`` or ``../shared/faces`` (beside the repo); the
150x150 ``dl_John_*`` crops are upscaled to 600 px (bicubic) before use. About 3 s per face.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mesovision.errors import NoFace
from mesovision.io import load_photo
from mesovision.landmarks import (
    _MATRIX_PITCH_OFFSET_DEG,
    _PITCH_OFFSET_DEG,
    detect_landmarks,
    head_pose,
    pose_from_matrix,
)
from mesovision.testing.head_turn import turn_head

REPO = Path(__file__).resolve().parents[1]
AXES = ("yaw", "pitch", "roll")
#: Same photograph saved again (see the face set's README): kept out, not independent faces.
SAME_PHOTO_COPIES = ("fr_obama-240p.jpg", "fr_obama-1080p.jpg", "fr_32bit.png")
#: The small crops are upscaled to this long side (bicubic) before use.
CROP_UPSCALE_SIDE = 600
#: A synthetic version whose detected face centre is farther than this share of the outer
#: eye-corner distance from where the face was put counts as lost (another face was found).
LOST_SHARE = 0.2
#: Frontal-looking originals (for the pitch offset): |yaw| <= this by both estimators.
FRONTAL_YAW_DEG = 10.0


def _mesh(lm) -> np.ndarray:
    p = head_pose(lm.points, lm.z)
    return np.array([p.yaw_deg, p.pitch_deg, p.roll_deg])


def _matrix(lm) -> np.ndarray:
    p = pose_from_matrix(lm.transform)
    return np.array([p.yaw_deg, p.pitch_deg, p.roll_deg])


ESTIMATORS = {"mesh": _mesh, "matrix": _matrix}
#: The pitch offset each estimator subtracts (added back to fit it afresh).
PITCH_OFFSETS = {"mesh": _PITCH_OFFSET_DEG, "matrix": _MATRIX_PITCH_OFFSET_DEG}


@dataclass(frozen=True)
class Condition:
    name: str
    kind: str  # yaw, pitch (3-D turns), roll (in-plane), mirror, reframe
    value: float = 0.0
    side: str = ""  # reframe: where the canvas grows

    def truth(self) -> np.ndarray:
        t = np.zeros(3)
        if self.kind in AXES:
            t[AXES.index(self.kind)] = self.value
        return t


CONDITIONS = (
    *(Condition(f"yaw {v:+d}", "yaw", v) for v in (-15, -10, -5, 5, 10, 15)),
    *(Condition(f"pitch {v:+d}", "pitch", v) for v in (-10, -5, 5, 10)),
    *(Condition(f"roll {v:+d}", "roll", v) for v in (-10, -5, 5, 10)),
    Condition("mirror", "mirror"),
    *(Condition(f"reframe {s}", "reframe", side=s) for s in ("up", "down", "left", "right")),
)
GROUPS = {
    "yaw turns": "yaw",
    "pitch turns": "pitch",
    "in-plane rotations": "roll",
    "mirror": "mirror",
    "reframings": "reframe",
}


@dataclass
class Face:
    file: str
    person: str
    size: tuple[int, int]
    n_faces: int
    pose: dict[str, np.ndarray]  # estimator -> (yaw, pitch, roll) on the original
    #: condition name -> estimator -> measured pose (None: lost)
    cond: dict[str, dict[str, np.ndarray] | None] = field(default_factory=dict)
    #: condition name -> share of the rendered 2-D landmark motion the detected points follow
    follow: dict[str, float] = field(default_factory=dict)
    #: reframings: change of the (yaw, pitch) direction of the line of sight to the face in the
    #: matrix's virtual camera (from its translation), degrees
    los: dict[str, list[float]] = field(default_factory=dict)


def face_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("MESOVISION_FACES")
    return Path(env) if env else REPO.parent / "shared" / "faces"


def list_photos(folder: Path) -> list[tuple[str, Path]]:
    """(person, path) of the single-face photos, then the repo's sample faces (person
    ``sample_<folder>``)."""
    out = []
    with open(folder / "faces.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["person"] == "group" or row["file"] in SAME_PHOTO_COPIES:
                continue
            out.append((row["person"], folder / row["file"]))
    for d in sorted((REPO / "sample_images").iterdir()):
        if (d / "before.jpg").exists():
            out.append((f"sample_{d.name}", d / "before.jpg"))
    return out


def load(path: Path) -> np.ndarray:
    rgb = load_photo(path, max_side=1024).rgb
    if path.name.startswith("dl_John_"):
        s = CROP_UPSCALE_SIDE / max(rgb.shape[:2])
        rgb = np.clip(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC), 0, 1)
    return rgb


def synthesize(rgb: np.ndarray, lm, c: Condition) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic image and where the original's landmarks went (for the lost-face check)."""
    h, w = rgb.shape[:2]
    if c.kind == "yaw":
        return turn_head(rgb, lm, yaw_deg=c.value)
    if c.kind == "pitch":
        return turn_head(rgb, lm, pitch_deg=c.value)
    if c.kind == "roll":
        # Roll > 0 is clockwise on screen; OpenCV's positive angle is counter-clockwise.
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -c.value, 1.0)
        img = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        return np.clip(img, 0, 1), np.c_[lm.points, np.ones(len(lm.points))] @ m.T
    if c.kind == "mirror":
        pts = lm.points.copy()
        pts[:, 0] = w - 1 - pts[:, 0]
        return np.ascontiguousarray(rgb[:, ::-1]), pts
    # reframe: the canvas grows by half its height (width) on the side opposite to the move.
    top, bottom, left, right = 0, 0, 0, 0
    if c.side == "up":
        bottom = h // 2
    elif c.side == "down":
        top = h // 2
    elif c.side == "left":
        right = w // 2
    else:
        left = w // 2
    img = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return img, lm.points + [left, top]


def detect(img: np.ndarray):
    try:
        return detect_landmarks(img)
    except NoFace:
        return None


def _sight(matrix: np.ndarray) -> np.ndarray:
    """(yaw, pitch) of the direction from the face to the virtual camera, degrees, signs as the
    pose of a face that looks at the camera."""
    t = -np.asarray(matrix)[:3, 3]
    return np.degrees([np.arctan2(t[0], t[2]), np.arctan2(t[1], np.hypot(t[0], t[2]))])


def measure(person: str, path: Path) -> Face | None:
    rgb = load(path)
    lm = detect(rgb)
    if lm is None:
        return None
    name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
    face = Face(
        name,
        person,
        (rgb.shape[1], rgb.shape[0]),
        lm.n_faces,
        {k: f(lm) for k, f in ESTIMATORS.items()},
    )
    iod = float(np.linalg.norm(lm.points[263] - lm.points[33]))
    for c in CONDITIONS:
        img, expected = synthesize(rgb, lm, c)
        lm2 = detect(img)
        ok = lm2 is not None and (
            np.linalg.norm(lm2.points.mean(0) - expected.mean(0)) < LOST_SHARE * iod
        )
        face.cond[c.name] = {k: f(lm2) for k, f in ESTIMATORS.items()} if ok else None
        if ok and c.kind == "reframe":
            face.los[c.name] = (_sight(lm2.transform) - _sight(lm.transform)).tolist()
        if ok and c.kind in ("yaw", "pitch"):
            moved = expected - lm.points
            face.follow[c.name] = float(np.sum((lm2.points - lm.points) * moved) / np.sum(moved**2))
    return face


# ---------------------------------------------------------------- statistics and tables


def _stats(e: np.ndarray) -> str:
    a = np.abs(e)
    return f"{e.mean():+5.2f} | {a.mean():4.2f} | {np.percentile(a, 95):5.2f} | {a.max():5.2f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def errors(faces: list[Face], c: Condition, est: str) -> np.ndarray:
    """(n, 3) errors of the measured pose difference against the truth (lost faces left out)."""
    out = []
    for f in faces:
        m = f.cond[c.name]
        if m is None:
            continue
        if c.kind == "mirror":
            out.append(m[est] - f.pose[est] * [-1.0, 1.0, -1.0])
        else:
            out.append(m[est] - f.pose[est] - c.truth())
    return np.array(out).reshape(-1, 3)


def report(faces: list[Face], n_listed: int, n_failed: int) -> str:
    est = list(ESTIMATORS)
    people = sorted({f.person for f in faces})
    out = [
        f"{len(faces)} faces of {len(people)} people ({n_listed} photos listed, "
        f"{n_failed} with no face found on the original; "
        f"{sum(f.n_faces > 1 for f in faces)} where the detector also found a smaller face, the "
        f"largest is used). dl_John_* crops upscaled to {CROP_UPSCALE_SIDE} px (bicubic). "
        "Errors in degrees.",
        "",
    ]
    lost = {c.name: sum(f.cond[c.name] is None for f in faces) for c in CONDITIONS}
    if any(lost.values()):
        out += [
            "Lost (another face or none found on the synthetic image), left out: "
            + ", ".join(f"{k}: {v}" for k, v in lost.items() if v),
            "",
        ]

    # Applied axis, per condition.
    head = ["condition", "axis"]
    for k in est:
        head += [f"{k} bias", f"{k} mean abs", f"{k} p95", f"{k} max"]
    head += ["2-D follow"]
    rows = []
    for c in CONDITIONS:
        if c.kind not in AXES:
            continue
        ax = AXES.index(c.kind)
        row = [c.name, c.kind]
        for k in est:
            row += _stats(errors(faces, c, k)[:, ax]).split(" | ")
        fol = [f.follow[c.name] for f in faces if c.name in f.follow]
        row.append(f"{np.mean(fol):.2f}" if fol else "")
        rows.append(row)
    out += [
        "## Error of the measured pose difference on the applied axis, per condition",
        "",
        "bias = mean signed error (measured - applied); p95 and max of |error|. 2-D follow: the "
        "share of the rendered landmark motion that the detected 2-D points follow (1 = all).",
        "",
        _table(head, rows),
        "",
    ]

    # Pooled per axis: slope and scatter.
    head = ["applied axis", "estimator", "slope", "sd about slope", "mean abs", "p95", "max"]
    rows = []
    for group, kind in GROUPS.items():
        if kind not in AXES:
            continue
        ax = AXES.index(kind)
        conds = [c for c in CONDITIONS if c.kind == kind]
        for k in est:
            applied = np.concatenate([np.full(len(errors(faces, c, k)), c.value) for c in conds])
            e = np.concatenate([errors(faces, c, k)[:, ax] for c in conds])
            meas = applied + e
            slope = float(np.sum(meas * applied) / np.sum(applied**2))
            a = np.abs(e)
            rows.append(
                [
                    group,
                    k,
                    f"{slope:.2f}",
                    f"{np.std(meas - slope * applied):.2f}",
                    f"{a.mean():.2f}",
                    f"{np.percentile(a, 95):.2f}",
                    f"{a.max():.2f}",
                ]
            )
    out += [
        "## Pooled per applied axis",
        "",
        "slope: least-squares measured/applied through 0 (1 = right scale); sd about slope: "
        "the scatter left once the scale is corrected.",
        "",
        _table(head, rows),
        "",
    ]

    # Cross-talk and the conditions with a zero or self-referenced truth, every axis.
    head = ["condition group", "read axis"]
    for k in est:
        head += [f"{k} bias", f"{k} mean abs", f"{k} p95", f"{k} max"]
    rows = []
    for group, kind in GROUPS.items():
        conds = [c for c in CONDITIONS if c.kind == kind]
        for ax, name in enumerate(AXES):
            if name == kind:
                continue
            row = [group, name]
            for k in est:
                e = np.concatenate([errors(faces, c, k)[:, ax] for c in conds])
                row += _stats(e).split(" | ")
            rows.append(row)
    out += [
        "## Cross-talk: error on the axes that were not changed",
        "",
        "Mirror: yaw and roll errors are (mirror + original) (an estimator's own zero bias "
        "shows twice), pitch is (mirror - original). Reframings: truth 0 on every axis.",
        "",
        _table(head, rows),
        "",
    ]

    # Reframings: how much of the line of sight's change the estimators read as a pose change.
    rows = []
    for ax, name in enumerate(AXES[:2]):
        row = [name]
        for k in est:
            x, y = [], []
            for f in faces:
                for c in CONDITIONS:
                    if c.kind == "reframe" and f.cond[c.name] is not None:
                        x.append(f.los[c.name][ax])
                        y.append(f.cond[c.name][k][ax] - f.pose[k][ax])
            x, y = np.array(x), np.array(y)
            row.append(f"{np.sum(x * y) / np.sum(x * x):.2f}")
        row.append(f"{np.abs(x).mean():.1f}")
        rows.append(row)
    out += [
        "## Reframings: pose read per degree of change of the line of sight",
        "",
        "The change of the direction from the face to the matrix's virtual camera (from the "
        "matrix's translation) against the pose change read (least squares through 0).",
        "",
        _table(["axis", *est, "mean abs change of sight (deg)"], rows),
        "",
    ]

    # Absolute pose on the originals.
    head = ["estimator", "axis", "mean", "sd", "p5", "p95", "min", "max"]
    rows = []
    for k in est:
        a = np.array([f.pose[k] for f in faces])
        for ax, name in enumerate(AXES):
            v = a[:, ax]
            p5, p95 = np.percentile(v, [5, 95])
            rows.append(
                [k, name, f"{v.mean():+.1f}", f"{v.std():.1f}"]
                + [f"{x:+.1f}" for x in (p5, p95, v.min(), v.max())]
            )
    d = np.array([f.pose["matrix"] - f.pose["mesh"] for f in faces])
    out += [
        "## Absolute pose on the original photos",
        "",
        _table(head, rows),
        "",
        "matrix - mesh on the originals: "
        + ", ".join(
            f"{n} mean {d[:, i].mean():+.1f}, sd {d[:, i].std():.1f}" for i, n in enumerate(AXES)
        ),
        "",
    ]

    # Pitch offset: frontal-looking photos, fitted on half of the people.
    frontal = [f for f in faces if all(abs(f.pose[k][0]) <= FRONTAL_YAW_DEG for k in est)]
    halves = (people[0::2], people[1::2])
    out += [
        "## Pitch of frontal-looking photos and the offset that makes them read 0",
        "",
        f"{len(frontal)} originals with |yaw| <= {FRONTAL_YAW_DEG:g} by both estimators. People "
        "sorted by label and split alternately into halves A and B; the offset is the mean of "
        "the per-person mean raw pitch (raw: before the offset in the code), fitted on one half "
        "and checked on the other (residual per photo).",
        "",
    ]
    head = ["estimator", "fit on", "fitted offset", "held out", "photos", "mean", "sd",
            "mean abs", "p95 abs", "mean abs, code's offset", "mean abs, no offset"]  # fmt: skip
    rows = []

    def per_person_mean(raw: dict[str, float], group) -> list[float]:
        return [
            float(np.mean(v))
            for p in group
            if (v := [raw[f.file] for f in frontal if f.person == p])
        ]

    for k in est:
        raw = {f.file: f.pose[k][1] + PITCH_OFFSETS[k] for f in frontal}
        for name, fit_half, test_half in (("A", *halves), ("B", *halves[::-1])):
            fit = per_person_mean(raw, fit_half)
            test = np.array([raw[f.file] for f in frontal if f.person in test_half])
            if not fit or not len(test):
                continue
            off = float(np.mean(fit))
            res = test - off
            rows.append(
                [
                    k,
                    name,
                    f"{off:+.2f}",
                    "B" if name == "A" else "A",
                    str(len(res)),
                    f"{res.mean():+.2f}",
                    f"{res.std():.2f}",
                    f"{np.abs(res).mean():.2f}",
                    f"{np.percentile(np.abs(res), 95):.2f}",
                    f"{np.abs(test - PITCH_OFFSETS[k]).mean():.2f}",
                    f"{np.abs(test).mean():.2f}",
                ]  # fmt: skip
            )
        rows.append(
            [
                k,
                "all",
                f"{np.mean(per_person_mean(raw, people)):+.2f}",
                "",
                str(len(raw)),
                "",
                "",
                "",
                "",
                "",
                "",
            ]  # fmt: skip
        )
    out += [
        f"A = {len(halves[0])} people, B = {len(halves[1])} people. Offsets in the code: "
        + ", ".join(f"{k} {PITCH_OFFSETS[k]:+.1f}" for k in est)
        + ".",
        "",
        _table(head, rows),
        "",
    ]
    return "\n".join(out)


def save(path: str, faces: list[Face], n_listed: int, n_failed: int) -> None:
    def tolist(d):
        return {k: None if v is None else np.round(v, 4).tolist() for k, v in d.items()}

    data = {
        "listed": n_listed,
        "failed": n_failed,
        "pitch_offsets": PITCH_OFFSETS,
        "faces": [
            {
                "file": f.file,
                "person": f.person,
                "size": f.size,
                "n_faces": f.n_faces,
                "pose": tolist(f.pose),
                "cond": {c: None if m is None else tolist(m) for c, m in f.cond.items()},
                "follow": f.follow,
                "los": f.los,
            }
            for f in faces
        ],
    }
    Path(path).write_text(json.dumps(data, indent=1))


def load_saved(path: str) -> tuple[list[Face], int, int]:
    """Faces saved by :func:`save`, their pitch re-expressed with the offsets now in the code."""
    data = json.loads(Path(path).read_text())
    shift = {k: data["pitch_offsets"][k] - PITCH_OFFSETS[k] for k in ESTIMATORS}

    def arrays(d):
        return {k: np.array(v) + [0.0, shift[k], 0.0] for k, v in d.items()}

    faces = [
        Face(
            d["file"],
            d["person"],
            tuple(d["size"]),
            d["n_faces"],
            arrays(d["pose"]),
            {c: None if m is None else arrays(m) for c, m in d["cond"].items()},
            d["follow"],
            d["los"],
        )
        for d in data["faces"]
    ]
    return faces, data["listed"], data["failed"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", help="face folder (default $MESOVISION_FACES or ../shared/faces)")
    ap.add_argument("--limit", type=int, help="use only the first N photos (a quick run)")
    ap.add_argument("--json", help="also write every measured pose to this file")
    ap.add_argument("--report", metavar="JSON", help="only print the tables of a --json file")
    args = ap.parse_args()
    if args.report:
        print(report(*load_saved(args.report)))
        return
    # Several faces in a photo: the largest is used (counted in the report, not logged each time).
    logging.getLogger("mesovision.landmarks").setLevel(logging.ERROR)
    photos = list_photos(face_dir(args.faces))[: args.limit]
    t0 = time.perf_counter()
    faces, failed = [], 0
    for person, path in photos:
        f = measure(person, path)
        if f is None:
            failed += 1
        else:
            faces.append(f)
    print(report(faces, len(photos), failed))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.json:
        save(args.json, faces, len(photos), failed)


if __name__ == "__main__":
    main()
