"""The course figure's values as a table under it (a screen reader gets the figure's numbers,
not only its name): every headline measure of the treated regions, its change since the first
session at each later session, the retake range and whether it is significant, equal to the
comparisons' records."""

from __future__ import annotations

import html as htmllib
import re

from test_report import TREATED, course  # noqa: F401 (the fixture)

from mesovision.report import render_html
from mesovision.report._doc import baseline_comparisons, fmt, fmt_signed


def _table(page: str) -> list[list[str]]:
    head = "<details><summary>The values of the figure</summary>"
    m = re.search(rf"{head}(.*?)</details>", page, re.S)
    assert m, "no table of the course figure's values"
    rows = re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    return [[htmllib.unescape(c) for c in r] for r in cells]


def test_the_table_holds_each_measures_change_at_each_session(course):  # noqa: F811
    page = render_html(course, session=3)
    table = _table(page)
    dates = [s["date"] for s in course["sessions"]]
    assert table[0] == ["region", "measure", *dates[1:]]
    comps = baseline_comparisons(course)
    rows = {(r[0], r[1].split(" (")[0]): r[2:] for r in table[1:]}
    assert {region for region, _ in rows} == {t.replace("_", " ") for t in TREATED}
    ch = [c["record"]["changes"]["left_cheek"]["redness.mean_a"] for c in comps]
    cells = rows[("left cheek", "redness")]
    for cell, c in zip(cells, ch, strict=True):
        expected = f"{fmt_signed(c['delta'])}, retake ±{fmt(c['noise_floor'])}"
        assert cell.startswith(expected), (cell, expected)
        assert cell.endswith("; significant") == bool(c["significant"])
    assert 'their values are in the table below" src=' in page
