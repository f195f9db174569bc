"""One statement of the multiple-testing correction, with this comparison's numbers, in the
Measures header, its rows and the Methods; and a body course's area named by its view."""

from __future__ import annotations

import re

from mesovision.record import method_summary
from mesovision.report import _doc, _sessions, sections


def _change(p: float, endpoint: str, *, delta: float = 2.0, significant: bool = False) -> dict:
    return {
        "before": 10.0,
        "after": 10.0 + delta,
        "delta": delta,
        "relative": delta / 10.0,
        "noise_floor": 1.0,
        "significant": significant,
        "p": p,
        "q": 0.2,
        "endpoint": endpoint,
        "family": "colour",
        "direction": "higher_is_worse",
        "unit": "a*",
    }


def _record() -> dict:
    """3 primary endpoints (the treated cheek's headline measures) and 7 others, all past their
    noise floor, none significant."""
    primary = {
        m: _change(0.03, "primary")
        for m in ("redness.mean_a", "pigmentation.spot_count", "texture.roughness_ra")
    }
    others = {f"redness.m{k}": _change(0.04, "secondary") for k in range(4)}
    chin = {f"redness.m{k}": _change(0.04, "secondary") for k in range(3)}
    return {
        "settings": {"mode": "face", "treated": ["left_cheek"], "tile_px": 20},
        "changes": {"left_cheek": primary | others, "chin": chin},
    }


def test_the_header_the_rows_and_the_methods_state_the_same_groups():
    record = _record()
    html = sections.region_table(record, ["left_cheek"])
    header = re.sub(r"\s+", " ", html)
    assert (
        "Significant: beyond it once the measures tested are allowed for (the 3 headline "
        "measures of the treated areas, tested apart from the 7 others; a false discovery rate "
        "of 5 % in each group)"
    ) in header
    readings = re.findall(r"beyond one retake; not significant among the [^<]*", html)
    assert sorted(set(readings)) == [
        "beyond one retake; not significant among the 3 headline measures of the treated areas",
        "beyond one retake; not significant among the 7 other measures tested",
    ]
    methods = " ".join(_doc.noise_floor_method(record, "face"))
    assert (
        "tested: the 3 headline measures of the treated areas, tested apart from the 7 others."
    ) in methods
    assert "Benjamini-Hochberg within its group" in methods
    for text in (header, methods):
        assert "at once" not in text and "About 300" not in text and "over all of them" not in text


def test_the_method_states_the_two_groups_without_a_fixed_count():
    text = " ".join(method_summary())
    assert "About 300" not in text
    assert "adjusted over all" not in text
    assert "the primary endpoints) apart from every other change" in text


def test_one_group_without_treated_regions():
    record = _record()
    for per in record["changes"].values():
        for c in per.values():
            c["endpoint"] = "secondary"
    header = re.sub(r"\s+", " ", sections.region_table(record, []))
    assert "(the 10 measures tested; a false discovery rate of 5 %)" in header
    assert "not significant among the 10 measures tested" in header


def _body_doc() -> dict:
    photo = {"file_name": "t.jpg", "checks": []}
    sessions = [
        {"id": k, "date": d, "treated": ["area"], "photo": photo}
        for k, d in ((1, "2026-01-05"), (2, "2026-03-05"))
    ]
    record = {"settings": {"mode": "body", "treated": ["area"]}, "changes": {}}
    comp = {"session_id": 2, "against": "baseline", "against_session_id": 1, "record": record}
    return {
        "schema_version": "1.1",
        "patient": {"id": "B1"},
        "view": "body:thigh",
        "sessions": sessions,
        "comparisons": [comp],
        "notes": [],
        "refusals": [],
    }


def test_a_body_course_names_its_area_and_its_sentences_are_whole():
    doc = _body_doc()
    comp = doc["comparisons"][0]
    imgs = {"before": "data:,", "aligned_after": "data:,"}
    text = re.sub(r"\s+", " ", sections.images_section(doc, comp, imgs))
    assert "so the same skin is at the same place. A heatmap shows one measure over the thigh" in (
        text
    )
    assert ";." not in text and "; A" not in text
    names = _sessions.photo_names(doc, show_name=False, deidentify=False)
    cells = _sessions.session_cells(doc, names, named=False)
    assert [c[2] for c in cells] == ["thigh", "thigh"]
    record = {
        "settings": {"mode": "body"},
        "changes": {"area": {"body.dimple_count": _change(0.01, "primary")}},
    }
    table = sections.region_table(record, ["area"], area="thigh")
    assert re.search(r'data-region="area"[^>]*><td>thigh</td>', table)
