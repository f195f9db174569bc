"""A synthetic course document with known side effects: bruising and swelling after sessions.

:func:`side_effect_course` writes the dict the report reads (the contract in
:mod:`mesovision.report`) without photos or comparisons run: every session's comparison with
the baseline carries the given swelling change (``swelling.contour_pct_iod``, with its noise
floor and significance) and bruise area per region (a bruise in the region, and the region's
``bruise.area_pct`` with its change since the first session), so that the side-effect timeline
(:mod:`mesovision.report._side_effects`) has a known truth. Sessions are given as
``(days after the first session, treated regions, {region: swelling % IOD}, {region: bruise
area %})``; a change is significant when it exceeds its noise floor. With ``ipd_mm`` (the
patient's interpupillary distance) each comparison also carries the swelling in mm
(``swelling.contour_mm``: the % IOD change times ``ipd_mm / 100``), as a course at that scale
measures it.
"""

from __future__ import annotations

import datetime

__all__ = ["BRUISE_FLOOR", "SWELLING_FLOOR", "side_effect_course"]

#: The noise floor of every synthetic swelling change (% IOD).
SWELLING_FLOOR = 0.5
#: The noise floor of every synthetic change of a region's bruised area (% of the region).
BRUISE_FLOOR = 0.2


def _record(regions, swelling: dict, bruise: dict, before_bruise: dict, ipd_mm=None) -> dict:
    """A comparison record holding only what the side-effect timeline reads."""
    changes = {}
    for r in regions:
        d = float(swelling.get(r, 0.0))
        changes[r] = {
            "swelling.contour_pct_iod": {
                "delta": d,
                "noise_floor": SWELLING_FLOOR,
                "significant": abs(d) > SWELLING_FLOOR,
                "unit": "% IOD",
            }
        }
        if ipd_mm is not None:
            k = ipd_mm / 100.0
            changes[r]["swelling.contour_mm"] = {
                "delta": d * k,
                "noise_floor": SWELLING_FLOOR * k,
                "significant": abs(d) > SWELLING_FLOOR,
                "unit": "mm",
            }
        area, base = float(bruise.get(r, 0.0)), float(before_bruise.get(r, 0.0))
        changes[r]["bruise.area_pct"] = {
            "before": base,
            "after": area,
            "delta": area - base,
            "noise_floor": BRUISE_FLOOR,
            "significant": abs(area - base) > BRUISE_FLOOR,
            "unit": "%",
        }

    def bruises(areas: dict) -> dict:
        items = [
            {"region": r, "area_pct": float(a), "stage": "red-purple"} for r, a in areas.items()
        ]
        total = float(sum(areas.values()))
        return {"bruises": items, "n_bruises": len(items), "total_area_pct": total}

    both = {"before": bruises(before_bruise), "after": bruises(bruise)}
    return {"changes": changes, "bruises": both}


def side_effect_course(
    sessions,
    *,
    start: datetime.date = datetime.date(2025, 1, 6),
    patient: str = "P-SYN",
    ipd_mm: float | None = None,
) -> dict:
    """A course document of ``sessions`` (``(days, treated, swelling, bruise)`` each, the first
    the baseline, days counted from ``start``), of a patient with interpupillary distance
    ``ipd_mm`` when given; see the module docstring."""
    regions = sorted({r for _, treated, sw, br in sessions for r in [*treated, *sw, *br]})
    doc_sessions, comparisons = [], []
    for k, (days, treated, _sw, _br) in enumerate(sessions):
        date = (start + datetime.timedelta(days=days)).isoformat()
        doc_sessions.append(
            {
                "id": k + 1,
                "date": date,
                "treated": list(treated),
                "product": None,
                "notes": None,
                "photo": {
                    "id": k + 1,
                    "sha256": f"{k + 1:064x}",
                    "path": f"/synthetic/{k + 1}.jpg",
                    "file_name": f"{k + 1}.jpg",
                    "capture_date": None,
                    "checks": [],
                },
            }
        )
    before_bruise = dict(sessions[0][3])
    for k, (_days, _treated, sw, br) in enumerate(sessions[1:], start=2):
        comparisons.append(
            {
                "session_id": k,
                "against": "baseline",
                "against_session_id": 1,
                "record": _record(regions, sw, br, before_bruise, ipd_mm),
                "images": {},
            }
        )
    return {
        "schema_version": "1.0",
        "generated_by": "mesovision.testing.course",
        "patient": {
            "id": patient,
            "name": None,
            "birth_year": None,
            **({"ipd_mm": ipd_mm} if ipd_mm is not None else {}),
        },
        "view": "front",
        "sessions": doc_sessions,
        "comparisons": comparisons,
    }
