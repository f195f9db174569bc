"""The README's report screenshots are made from the current report code
(scripts/report_screenshots.py records the hash of mesovision/report/*.py it rendered)."""

import re

from conftest import REPO, load_script


def test_readme_screenshots_are_current():
    shots = load_script("report_screenshots")
    assert shots.check() is None, shots.check()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in re.findall(r"\]\((docs/images/report-[a-z-]+\.png)\)", readme):
        path = REPO / name
        assert path.is_file() and path.stat().st_size < 200_000, name


def test_the_check_sees_a_changed_report(tmp_path, monkeypatch):
    shots = load_script("report_screenshots")
    monkeypatch.setattr(shots, "source_hash", lambda: "0" * 64)
    assert shots.check() == "the report's code changed since the screenshots were made"
