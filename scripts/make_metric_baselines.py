"""Guard tests/baselines/metrics.json: every metric scored on faces, on a fixed image and masks.

Run from the repository root:

    python scripts/make_metric_baselines.py
    python scripts/make_metric_baselines.py --accept redness.erythema_index --reason "..."

It recomputes every metric and prints, per metric, the difference from the stored baseline. A value
that moved beyond the tolerance (``REL_TOL``, ``ABS_TOL``: the tolerance of
``tests/metrics/test_metrics.py``) is a change, and changes are refused (exit 1, nothing written)
unless each changed metric is named after ``--accept``, with a ``--reason``. Accepted metrics get
their new values; every other stored value is kept as it is (a change within tolerance is not
written, so rounding cannot creep). Each accepted change is appended to ``CHANGELOG.md`` under its
"Unreleased" heading: metric, old -> new per region, the reason. A new metric, region or removed
metric is a change like any other.

The values are never edited by hand; ``tests/metrics/test_metrics.py`` recomputes them and
compares, and ``tests/metrics/test_metric_reference.py`` checks every metric against an
independent reference, so an accepted change must still pass there.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import mesovision
from mesovision.metrics import metrics_for_mode, score_regions
from mesovision.metrics._samples import sample_face
from mesovision.testing.synthetic import inject_spots

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "baselines" / "metrics.json"
CHANGELOG = REPO / "CHANGELOG.md"
#: The fixed setting: sample, upscale, regions, scale (an assumed 4 px/mm so that the mm² and
#: per-cm² metrics have values).
SETTING = {
    "sample": "grace_hopper",
    "scale": 1.0,
    "regions": ["face", "forehead", "left_cheek"],
    "px_per_mm": 4.0,
    # seeded pigmented spots (mesovision.testing.synthetic.inject_spots) so that every spot metric
    # has a value in every region
    "spots": {"forehead": [3, 3.0, 1], "left_cheek": [3, 3.0, 2]},  # n, radius_px, seed
}
#: A value differs from its baseline when |new - old| > ABS_TOL + REL_TOL * |old| (as
#: ``pytest.approx(old, rel=REL_TOL, abs=ABS_TOL)``, used by tests/metrics/test_metrics.py).
REL_TOL = 1e-4
ABS_TOL = 1e-6
#: The sub-heading of the Unreleased section that collects accepted baseline changes.
CHANGELOG_SECTION = "### Metric baselines"

#: The sample's face landmarks (for the swelling metrics), detected once by MediaPipe on the
#: sample as loaded and stored rounded to 0.01 px, so that the baselines do not depend on the
#: landmark model's floating-point rounding on one CPU or another.
LANDMARKS = REPO / "tests" / "baselines" / "grace_hopper_landmarks.json"

Values = dict[str, dict[str, float | None]]


def sample_landmarks(rgb):
    """The stored landmarks of the sample (detected and stored when the file is missing)."""
    from mesovision.types import HeadPose, Landmarks

    if not LANDMARKS.exists():
        from mesovision.landmarks import detect_landmarks

        points = detect_landmarks(rgb).points
        _write_atomic(LANDMARKS, json.dumps({"points": np.round(points, 2).tolist()}) + "\n")
    points = np.asarray(json.loads(LANDMARKS.read_text())["points"], np.float64)
    h, w = rgb.shape[:2]
    return Landmarks(points, np.zeros(len(points)), (w, h), 1, HeadPose(0.0, 0.0, 0.0))


def compute() -> Values:
    """``{region: {metric: value or None (NaN)}}`` of every registered metric in the setting."""
    rgb, masks = sample_face(SETTING["sample"], scale=SETTING["scale"])
    landmarks = sample_landmarks(rgb)
    for region, (n, radius, seed) in SETTING["spots"].items():
        rgb, _, _ = inject_spots(rgb, masks[region], n=n, radius_px=radius, seed=seed)
    masks = {k: masks[k] for k in SETTING["regions"]}
    # the metrics scored on faces (the hair family is checked on rendered scalps instead)
    face = metrics_for_mode("face")
    scores = score_regions(
        rgb, masks, px_per_mm=SETTING["px_per_mm"], metrics=face, landmarks=landmarks
    )
    return {
        region: {k: (None if math.isnan(v) else v) for k, v in sorted(values.items())}
        for region, values in scores.items()
    }


def _same(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    return abs(new - old) <= ABS_TOL + REL_TOL * abs(old)


def _fmt(v: float | None) -> str:
    return "none" if v is None else f"{v:.6g}"


def diff(old: Values, new: Values) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """``{metric: {region: (old, new)}}`` for every value that moved beyond tolerance (a value
    missing on one side counts as ``None``: a new or removed metric or region)."""
    regions = sorted(set(old) | set(new))
    metrics = sorted({m for r in regions for m in (*old.get(r, {}), *new.get(r, {}))})
    out: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for m in metrics:
        for r in regions:
            a, b = old.get(r, {}).get(m), new.get(r, {}).get(m)
            if not _same(a, b):
                out.setdefault(m, {})[r] = (a, b)
    return out


def _largest_rel(old: Values, new: Values, metric: str) -> float:
    rel = 0.0
    for r in new:
        a, b = old.get(r, {}).get(metric), new[r].get(metric)
        if a is not None and b is not None and a != b:
            rel = max(rel, abs(b - a) / max(abs(a), ABS_TOL))
    return rel


def report(old: Values, new: Values, changes: dict, accept: set[str]) -> list[str]:
    """One line per metric: within tolerance, or its changed regions ``old -> new``."""
    lines = []
    for m in sorted({*changes, *(k for r in new.values() for k in r)}):
        if m in changes:
            status = "ACCEPTED" if m in accept else "CHANGED "
            moves = ", ".join(f"{r} {_fmt(a)} -> {_fmt(b)}" for r, (a, b) in changes[m].items())
            lines.append(f"{status} {m}: {moves}")
        else:
            lines.append(f"ok       {m} (largest relative change {_largest_rel(old, new, m):.1e})")
    return lines


def changelog_lines(changes: dict, accept: set[str], reason: str, day: str) -> list[str]:
    """The CHANGELOG bullet of each accepted metric."""
    out = []
    for m in sorted(accept):
        moves = ", ".join(f"{r} {_fmt(a)} → {_fmt(b)}" for r, (a, b) in changes[m].items())
        out.append(f"- `{m}`: {moves}. Reason: {reason} (accepted {day}).")
    return out


def add_to_changelog(text: str, lines: list[str]) -> str:
    """``text`` with ``lines`` appended to the ``CHANGELOG_SECTION`` of its first level-2
    heading containing "unreleased" (an "## Unreleased" heading and the section are created
    when missing)."""
    rows = text.splitlines()
    start = next(
        (i for i, r in enumerate(rows) if r.startswith("## ") and "unreleased" in r.lower()), None
    )
    if start is None:
        title = next((i for i, r in enumerate(rows) if r.startswith("# ")), None)
        at = 0 if title is None else title + 1
        rows[at:at] = ["## Unreleased"] if title is None else ["", "## Unreleased"]
        start = at if title is None else at + 1
    end = next((i for i in range(start + 1, len(rows)) if rows[i].startswith("## ")), len(rows))
    sec = next((i for i in range(start + 1, end) if rows[i].strip() == CHANGELOG_SECTION), None)
    if sec is None:
        block, after = ["", CHANGELOG_SECTION, *lines], start + 1
    else:
        block = list(lines)
        after = sec + 1
        end = next((i for i in range(after, end) if rows[i].startswith("#")), end)
    # at the end of the section, before its trailing blank lines
    pos = end
    while pos > after and not rows[pos - 1].strip():
        pos -= 1
    if pos < len(rows) and rows[pos].strip():
        block.append("")
    rows[pos:pos] = block
    return "\n".join(rows) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print each metric's change against the stored baselines; write only the "
        "changes accepted with --accept (recorded in CHANGELOG.md)."
    )
    parser.add_argument(
        "--accept",
        nargs="+",
        default=[],
        metavar="METRIC",
        help="metrics whose change beyond tolerance is intended: write their new values",
    )
    parser.add_argument("--reason", help="why the accepted values changed (for CHANGELOG.md)")
    parser.add_argument("--baselines", type=Path, default=OUT, help=f"default: {OUT}")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help=f"default: {CHANGELOG}")
    args = parser.parse_args(argv)
    accept = set(args.accept)
    reason = (args.reason or "").strip()
    if accept and not reason:
        parser.error("--accept needs --reason: say why the values changed (for CHANGELOG.md)")
    if reason and not accept:
        parser.error("--reason without --accept: there is nothing to record")

    stored = json.loads(args.baselines.read_text()) if args.baselines.exists() else {}
    old: Values = stored.get("values", {})
    new = compute()
    changes = diff(old, new)
    if not args.baselines.exists():
        print(f"{args.baselines} does not exist: every value is new")
    elif stored.get("setting") != SETTING:
        print(f"the setting differs from the stored one: {stored.get('setting')} -> {SETTING}")

    unknown = sorted(accept - set(changes))
    if unknown:
        parser.error(
            f"--accept {' '.join(unknown)}: no change beyond tolerance to accept "
            f"(changed: {', '.join(sorted(changes)) or 'none'})"
        )
    print("\n".join(report(old, new, changes, accept)))
    refused = sorted(set(changes) - accept)
    if refused:
        print(
            f"\nrefused: {len(refused)} metric(s) changed beyond tolerance (rel {REL_TOL:g}, "
            f"abs {ABS_TOL:g}) without --accept: {', '.join(refused)}. Nothing written. If the "
            "change is intended, check it against tests/metrics/test_metric_reference.py and "
            "rerun with "
            '--accept METRIC... --reason "...".',
            file=sys.stderr,
        )
        return 1
    if not changes:
        print(f"\nno change beyond tolerance: {args.baselines} left as it is")
        return 0

    # Every change is accepted: stored values, accepted metrics replaced (and new ones added,
    # removed ones dropped).
    values: Values = {}
    for region in SETTING["regions"]:
        values[region] = {
            m: (new[region].get(m) if m in accept else old.get(region, {}).get(m))
            for m in sorted(metrics_for_mode("face"))
        }
    data = {
        "generated_by": "scripts/make_metric_baselines.py",
        "mesovision_version": mesovision.__version__,
        "setting": SETTING,
        "metrics": sorted(metrics_for_mode("face")),
        "values": values,
    }
    _write_atomic(args.baselines, json.dumps(data, indent=2, sort_keys=True) + "\n")
    day = _dt.datetime.now(_dt.UTC).date().isoformat()
    log = args.changelog.read_text() if args.changelog.exists() else "# Changelog\n"
    lines = changelog_lines(changes, accept, reason, day)
    _write_atomic(args.changelog, add_to_changelog(log, lines))
    print(
        f"\nwrote {args.baselines} ({len(accept)} accepted metric(s)) and added "
        f"{len(lines)} line(s) to {args.changelog}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
