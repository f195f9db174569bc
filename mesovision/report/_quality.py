"""The quality facts of one comparison as plain data (label, text), shared by the HTML and the
PDF: alignment residual and coverage, pose difference, lighting ΔE00 before and after
normalization, the comparability verdict per family, warnings, and the capture checks of both
photos."""

from __future__ import annotations

from . import _doc, _modes

__all__ = ["checks_summary", "quality_items"]


def quality_items(doc: dict, comp: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """Quality figures ``(label, text)`` and the capture checks (with the photo's role)."""
    rec = comp["record"]
    al = rec.get("alignment") or {}
    items = [("Alignment", str(al.get("method", "\u2013"))), *_geometry(rec)]
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
    named = _modes.measured_families(rec)  # a thigh's or a scalp's record: not the face's
    for fam, v in (rec.get("comparability") or {}).items():
        if named and fam not in named:
            continue
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


def _limit(th: dict, key: str, word: str) -> str:
    """`` (limit 5 %)`` of a threshold that is a share, or nothing without one."""
    return f" ({word} {_doc.fmt(100 * th[key])} %)" if _doc.finite(th.get(key)) else ""


def _geometry(rec: dict) -> list[tuple[str, str]]:
    """The alignment's residual and coverage, in the words of the record's capture mode: a face
    in % of the interocular distance and of the face; a body or scalp photo (aligned on image
    features) in pixels and of the measured area."""
    al = rec.get("alignment") or {}
    th = al.get("thresholds") or {}
    mode = (rec.get("settings") or {}).get("mode", "face")
    residual = f"{_doc.fmt(al.get('residual_px'))} px"
    share = al.get("coverage")
    coverage = f"{_doc.fmt(100 * share if _doc.finite(share) else None)} % of "
    if mode == "face":
        iod = al.get("residual_iod")
        residual += (
            f" = {_doc.fmt(100 * iod if _doc.finite(iod) else None)} % of the interocular "
            f"distance{_limit(th, 'max_residual_iod', 'limit')}"
        )
        coverage += "the face"
    else:
        residual += " (root mean square distance of the matched features to the fitted map)"
        coverage += "the measured area"
    return [("Residual", residual), ("Coverage", coverage + _limit(th, "min_coverage", "minimum"))]


def checks_summary(checks: list[dict]) -> str:
    """``20 ok, 2 failed, 1 warning(s)`` of a photo's capture checks."""
    if not checks:
        return "\u2013"
    fails = sum(1 for c in checks if not c.get("ok") and c.get("severity") == "fail")
    warns = sum(1 for c in checks if not c.get("ok") and c.get("severity") != "fail")
    oks = sum(1 for c in checks if c.get("ok"))
    parts = [f"{oks} ok"] + ([f"{fails} failed"] if fails else [])
    return ", ".join(parts + ([f"{warns} warning(s)"] if warns else []))
