"""Screenshots of the demo report for the README, rendered in Chromium so they never go stale.

    python scripts/report_screenshots.py            # writes docs/images/report-*.png
    python scripts/report_screenshots.py --check    # exit 1 if the report's code changed since

Builds the demo treatment course (the astronaut samples, three sessions, as ``mesovision demo``
does) in a temporary folder, renders its report, opens it in Debian's Chromium through
Playwright at 1000 px wide and at a phone's 390 px, and writes small PNGs of the summary and the
before/after section into ``docs/images/``. ``docs/images/report-screenshots.json`` records the
SHA-256 of the report's source files the images were made from; ``--check`` (run by the test
suite) fails when those sources changed and the screenshots were not made again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
MANIFEST = OUT / "report-screenshots.json"
#: The screenshots: file name -> (viewport width, CSS selector of the element shot).
SHOTS = {
    "report-summary.png": (1000, "#summary"),
    "report-photos.png": (1000, "#images .side"),
    "report-phone.png": (390, "#header"),
}
#: Long side of a written image (px): small enough for a README.
MAX_SIDE = 900
CHROMIUM = "/usr/bin/chromium"


def source_hash() -> str:
    """SHA-256 over the report package's source files (names and contents, sorted)."""
    h = hashlib.sha256()
    for p in sorted((REPO / "mesovision" / "report").glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _render(html_path: Path) -> dict[str, bytes]:
    from playwright.sync_api import sync_playwright

    shots = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for name, (width, selector) in SHOTS.items():
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(html_path.as_uri())
            el = page.locator(selector).first
            el.scroll_into_view_if_needed()
            shots[name] = el.screenshot() if width > 500 else page.screenshot()
            page.close()
        browser.close()
    return shots


def _small_png(data: bytes) -> bytes:
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    im = im.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def make() -> list[Path]:
    from mesovision.demo import build_demo_course, find_samples

    with tempfile.TemporaryDirectory() as tmp:
        build_demo_course(find_samples(None), Path(tmp))
        shots = _render(Path(tmp) / "course" / "report.html")
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in shots.items():
        (OUT / name).write_bytes(_small_png(data))
        written.append(OUT / name)
    MANIFEST.write_text(
        json.dumps({"report_sources_sha256": source_hash(), "images": sorted(SHOTS)}, indent=2)
        + "\n"
    )
    return written


def check() -> str | None:
    """``None`` when the screenshots were made from the current report code, else the reason."""
    if not MANIFEST.is_file():
        return f"{MANIFEST.relative_to(REPO)} is missing"
    recorded = json.loads(MANIFEST.read_text())
    missing = [n for n in SHOTS if not (OUT / n).is_file()]
    if missing:
        return f"screenshots missing: {', '.join(missing)}"
    if recorded.get("report_sources_sha256") != source_hash():
        return "the report's code changed since the screenshots were made"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check they are current")
    args = parser.parse_args(argv)
    if args.check:
        reason = check()
        if reason:
            print(f"report_screenshots: {reason}; run python scripts/report_screenshots.py")
            return 1
        return 0
    for p in make():
        print(f"{p.relative_to(REPO)}: {p.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
