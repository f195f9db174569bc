"""The quality facts of one comparison as plain data (label, text), shared by the HTML and the
PDF: alignment residual and coverage, pose difference, lighting ΔE00 before and after
normalization, the comparability verdict per family, warnings, and the capture checks of both
photos."""

from __future__ import annotations

from . import _doc

__all__ = ["checks_summary", "quality_items"]


def quality_items(doc: dict, comp: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """Quality figures ``(label, text)`` and the capture checks (with the photo's role)."""
    rec = comp["record"]
    al = rec.get("alignment") or {}
    th = al.get("thresholds") or {}
    items = [
        ("Alignment", str(al.get("method", "\u2013"))),
        (
            "Residual",
            f"{_doc.fmt(al.get('residual_px'))} px = "
            f"{_doc.fmt(100 * al['residual_iod'] if _doc.finite(al.get('residual_iod')) else None)}"
            f" % of the interocular distance (limit "
            f"{_doc.fmt(100 * th['max_residual_iod']) if 'max_residual_iod' in th else '?'} %)",
        ),
        (
            "Coverage",
            f"{_doc.fmt(100 * al['coverage'] if _doc.finite(al.get('coverage')) else None)} % of "
            f"the face (minimum "
            f"{_doc.fmt(100 * th['min_coverage']) if 'min_coverage' in th else '?'} %)",
        ),
    ]
    pd = al.get("pose_difference")
    if pd:
        items.append(
            (
                "Pose difference",
                ", ".join(f"{k.removesuffix('_deg')} {_doc.fmt(v, 2)}°" for k, v in pd.items()),
            )
        )
    lt = rec.get("lighting")
    if lt:
        b, a = lt.get("delta_e_before") or {}, lt.get("delta_e_after") or {}
        items.append(("Lighting", f"{lt.get('method')} ({lt.get('model')})"))
        items.append(
            (
                "Lighting ΔE00 before normalization",
                f"median {_doc.fmt(b.get('median'))}, p95 {_doc.fmt(b.get('p95'))}",
            )
        )
        items.append(
            (
                "Lighting ΔE00 after normalization",
                f"median {_doc.fmt(a.get('median'))}, p95 {_doc.fmt(a.get('p95'))} "
                "(warning above 3.0)",
            )
        )
    else:
        items.append(("Lighting", "not normalized"))
    for fam, v in (rec.get("comparability") or {}).items():
        status = v.get("status", "?").replace("_", " ")
        if v.get("status") == "limited" and v.get("inflation") == 1.0:
            status += " (noise floor not widened)"  # a limit that only costs sensitivity
        elif v.get("status") == "limited":
            status += f" (noise widened x{_doc.fmt(v.get('inflation'), 2)})"
        if v.get("status") == "not_comparable":
            status += " (values shown, not tested)"
        text = f"{status}: {v['reason']}" if v.get("reason") else status
        items.append((f"Comparable: {fam}", text))
    warnings = list(al.get("warnings") or []) + list((lt or {}).get("warnings") or [])
    for w in warnings:
        items.append(("Warning", str(w)))
    sessions = _doc.session_by_id(doc)
    checks = []
    for role, sid in (("before", comp["against_session_id"]), ("after", comp["session_id"])):
        s = sessions.get(sid, {})
        for c in (s.get("photo") or {}).get("checks") or []:
            checks.append({**c, "photo": f"{role} ({s.get('date', '?')})"})
    for c in rec.get("body_checks") or []:  # body mode, result.json 3.1
        checks.append({**c, "photo": "after, aligned to before"})
    return items, checks


def checks_summary(checks: list[dict]) -> str:
    """``20 ok, 2 failed, 1 warning(s)`` of a photo's capture checks."""
    if not checks:
        return "\u2013"
    fails = sum(1 for c in checks if not c.get("ok") and c.get("severity") == "fail")
    warns = sum(1 for c in checks if not c.get("ok") and c.get("severity") != "fail")
    oks = sum(1 for c in checks if c.get("ok"))
    parts = [f"{oks} ok"] + ([f"{fails} failed"] if fails else [])
    return ", ".join(parts + ([f"{warns} warning(s)"] if warns else []))
