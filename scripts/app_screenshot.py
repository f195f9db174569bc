"""Screenshots of the clinic app on the demo store, for the README and docs/app.md.

Runs ``mesovision demo`` into a temporary folder, serves its store with ``mesovision serve``
(port chosen by the system), opens the demo patient's course in Debian's Chromium through
Playwright, waits for the comparisons, and writes ``docs/images/app-course.png`` (the course
page: timeline, summary and before/after viewer) and ``docs/images/app-session.png`` (a new
session: the face diagram with two areas picked and a checked photo, a new photo of the
demo's person). Run from the repository
root::

    python scripts/app_screenshot.py
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"


def _serve(store: Path) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "serve", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    for _ in range(20):
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=\S+", proc.stdout.readline())
        if m:
            return proc, m.group(0), m.group(1)
    proc.kill()
    raise SystemExit("mesovision serve did not print its address")


def _shots(url: str, base: str, patient: str, photo: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.goto(f"{base}/patients/{patient}")
        page.locator("#course-view").wait_for(timeout=600_000)
        page.screenshot(path=str(OUT / "app-course.png"))
        page.goto(f"{base}/patients/{patient}/sessions/new")
        page.fill("#date", "2026-03-02")
        for r in ("left_cheek", "right_cheek"):
            page.click(f'#diagram .region[data-region="{r}"]')
        page.set_input_files("#file-input", str(photo))
        page.locator(".photo-card.passed, .photo-card.failed").wait_for(timeout=120_000)
        page.screenshot(path=str(OUT / "app-session.png"), full_page=True)
        browser.close()


def main() -> None:
    from mesovision.demo import DEMO_PATIENT

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "mesovision", "demo", "-o", f"{tmp}/demo"],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)  # fmt: skip
        # a new photo of the demo's person (the shipped ones are in the store already): the
        # baseline sample without its outer 8 pixels
        from PIL import Image, ImageOps

        photo = Path(tmp) / "next_visit.jpg"
        with Image.open(REPO / "sample_images" / "astronaut" / "before.jpg") as im:
            im = ImageOps.exif_transpose(im)  # the sample is stored rotated, with an EXIF tag
            im.crop((8, 8, im.width - 8, im.height - 8)).save(photo, quality=95)
        proc, url, base = _serve(Path(tmp) / "demo" / "course" / "store")
        try:
            _shots(url, base, DEMO_PATIENT, photo)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    print(f"wrote {OUT / 'app-course.png'} and {OUT / 'app-session.png'}")


if __name__ == "__main__":
    main()
