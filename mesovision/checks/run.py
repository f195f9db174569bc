"""Running the capture checks on a photo file, and their report.

:func:`check_photo` loads a file, measures it (:mod:`~mesovision.checks.measures`) and judges
it (:mod:`~mesovision.checks.evaluate`), returning a :class:`CaptureReport` with the file's hash
and EXIF capture date.
"""

from __future__ import annotations

from dataclasses import dataclass

from .evaluate import evaluate_capture
from .measures import CaptureFeatures, measure_capture

__all__ = ["CaptureReport", "capture_date", "check_photo"]


@dataclass(frozen=True)
class CaptureReport:
    """The checks of one photo file."""

    path: str
    sha256: str
    capture_date: str | None
    features: CaptureFeatures
    checks: list[dict]

    @property
    def failed(self) -> list[dict]:
        """The failed checks of severity ``fail``."""
        return [c for c in self.checks if not c["ok"] and c["severity"] == "fail"]

    @property
    def problems(self) -> list[dict]:
        """All failed checks (``fail`` and ``warn``)."""
        return [c for c in self.checks if not c["ok"]]

    def as_dict(self) -> dict:
        return {
            "file": self.path,
            "sha256": self.sha256,
            "capture_date": self.capture_date,
            "view": self.features.view,
            "ok": not self.failed,
            "checks": self.checks,
            "features": self.features.as_dict(),
        }


def capture_date(photo) -> str | None:
    """The EXIF capture date of a :class:`~mesovision.types.Photo` as ISO 8601, or None."""
    raw = photo.capture.datetime_original
    if not raw:
        return None
    import datetime

    try:
        return datetime.datetime.strptime(raw.strip()[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def check_photo(
    path: str,
    *,
    view: str = "front",
    baseline: CaptureFeatures | None = None,
    max_side: int = 2048,
) -> CaptureReport:
    """Load ``path`` (as :func:`mesovision.io.load_photo`, working copy of ``max_side``), measure
    it and run the checks (against ``baseline`` when given). The features carry the file's
    transparency (:attr:`mesovision.types.Photo.transparent_share`), which the pixels measured
    no longer hold, its palette (:attr:`mesovision.types.Photo.palette_colours`), and the sizes
    of the file and of the working copy. Unreadable files raise the loader's errors."""
    from dataclasses import replace

    from ..io import load_photo

    photo = load_photo(path, max_side=max_side)
    f = measure_capture(photo.rgb, view=view, path=str(path), gamut_clipped=photo.gamut_clipped)
    upright = (lambda wh: wh[::-1]) if f.quarter_turns % 2 else (lambda wh: wh)  # as measured
    f = replace(
        f,
        transparent_share=photo.transparent_share,
        palette_colours=photo.palette_colours,
        file_size=tuple(upright(photo.original_size)),
        working_size=tuple(upright(photo.size)),
    )
    return CaptureReport(
        path=str(path),
        sha256=photo.sha256,
        capture_date=capture_date(photo),
        features=f,
        checks=evaluate_capture(f, baseline=baseline),
    )
