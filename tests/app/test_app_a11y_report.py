"""The report's controls as a screen reader names them (Chromium's accessibility tree): each
heatmap checkbox is named by its measure, with the colour bar's scale as its description, and
the Flicker button says which photo it shows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_heatmap_toggles_are_named_by_their_measure(browser):
    from playwright.sync_api import expect

    from mesovision.metrics.heatmaps import FAMILIES
    from mesovision.report.sections import _toggles

    imgs = {f"heatmap_{fam}_before": "data:," for fam in FAMILIES}
    page = browser.new_page()
    try:
        page.set_content(f'<html lang="en"><body>{"".join(_toggles(imgs))}</body></html>')
        for fam, (_m, _r, lo, hi, _cmap) in FAMILIES.items():
            box = page.get_by_role("checkbox", name=fam, exact=True)
            expect(box).to_have_count(1)
            expect(box).to_have_accessible_description(f"scale {lo:g} to {hi:g}")
    finally:
        page.close()
