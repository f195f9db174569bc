"""The public Python API: photos in, a :class:`~mesovision.compare.Comparison` out.

These are the functions ``import mesovision as mv`` exposes (``mv.compare``, ``mv.align``,
``mv.load_photo``, ``mv.as_photo``, ``mv.metrics``, ``mv.sample_pair``). Each one is a thin,
documented entry to the library: it turns what a notebook user has (file paths, NumPy arrays or
:class:`~mesovision.types.Photo` objects, keyword options named as the command line's) into the
calls the ``mesovision align`` and ``mesovision compare`` commands make
(:func:`mesovision.pipeline.align_pair`, :func:`mesovision.compare.compare_pair`), so that a
comparison made here has the same numbers as the command's for the same photos and options.

Array convention (as scikit-image states its own): an image array is RGB shaped
``(rows, columns, 3)``, sRGB-encoded, in display orientation. ``uint8`` is read as 0-255,
``uint16`` as 0-65535, and a float array (any precision) must hold finite values in ``[0, 1]``;
every other shape, dtype or range is refused with a ``ValueError`` naming the argument. Arrays
are converted to the package's working type, ``float32`` in ``[0, 1]``
(:func:`mesovision.io.photo_from_array`), and reduced like a loaded file when their long side
exceeds ``max_side``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from .errors import UsageError
from .types import MetricInfo, Photo

if TYPE_CHECKING:
    from .compare import Comparison
    from .pipeline import AlignedPair

__all__ = [
    "ImageLike",
    "align",
    "as_photo",
    "compare",
    "load_photo",
    "metrics",
    "sample_pair",
]

#: What the API accepts as an image: a file path, a :class:`~mesovision.types.Photo` or an array.
ImageLike = Union[str, os.PathLike, Photo, np.ndarray]  # noqa: UP007 (a runtime alias)

#: Scale tolerance of an array reduced to ``max_side`` (as :func:`mesovision.io.load_photo`).
_SCALE_TOLERANCE = 1e-3


def sample_pair(name: str = "astronaut", after: str = "treated") -> tuple[Path, Path]:
    """Paths of a before/after pair shipped in ``sample_images/``.

    Parameters
    ----------
    name : {"astronaut", "grace_hopper"}, optional
        The sample face.
    after : {"treated", "no_change"}, optional
        The after photo: with the recorded treatment effects (on the cheeks, forehead and
        chin), or the same skin re-photographed.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The before and after JPEG files.

    Raises
    ------
    InputFileError
        The sample folder is not found (it ships with the repository, not the wheel).
    UsageError
        An unknown ``name`` or ``after``.

    Examples
    --------
    >>> import mesovision as mv
    >>> before, after = mv.sample_pair()
    >>> before.name, after.name
    ('before.jpg', 'after_treated.jpg')
    """
    from .demo import find_samples

    folder = find_samples(None)
    names = sorted(p.name for p in folder.iterdir() if (p / "before.jpg").is_file())
    if name not in names:
        raise UsageError(f"unknown sample {name!r}; valid: {', '.join(names)}")
    if after not in ("treated", "no_change"):
        raise UsageError(f"unknown after photo {after!r}; valid: treated, no_change")
    return folder / name / "before.jpg", folder / name / f"after_{after}.jpg"


def load_photo(path: str | os.PathLike[str], *, max_side: int | None = 2048) -> Photo:
    """Decode an image file into a :class:`~mesovision.types.Photo`.

    The EXIF orientation is applied and an embedded colour profile converted to sRGB; the
    working copy is reduced (area averaging) to ``max_side`` pixels on its long side. Details,
    formats and limits: :func:`mesovision.io.load_photo`.

    Parameters
    ----------
    path : str or os.PathLike
        JPEG, PNG, TIFF, WebP, BMP or HEIF/HEIC file.
    max_side : int or None, optional
        Long side of the working copy in pixels (default 2048); ``None`` keeps full resolution.

    Returns
    -------
    Photo
        ``rgb`` is ``float32`` ``(H, W, 3)`` in ``[0, 1]``; ``scale`` is working pixels per
        original pixel; ``sha256`` the file's hash.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    InvalidImage
        Not a decodable image, or too large or too small.

    Examples
    --------
    >>> import mesovision as mv
    >>> photo = mv.load_photo(mv.sample_pair()[0])
    >>> photo.size, photo.rgb.dtype, photo.exif_orientation
    ((1024, 1024), dtype('float32'), 6)
    >>> mv.load_photo(mv.sample_pair()[0], max_side=512).scale
    0.5
    """
    from .io import load_photo as _load

    return _load(path, max_side=max_side)


def as_photo(image: ImageLike, *, name: str = "image", max_side: int | None = 2048) -> Photo:
    """A :class:`~mesovision.types.Photo` from a file path, an array or a Photo.

    Parameters
    ----------
    image : str, os.PathLike, numpy.ndarray or Photo
        A file (loaded with :func:`load_photo`), an RGB array (see the module's array
        convention) or a Photo (returned as it is).
    name : str, optional
        The argument's name, used in error messages (and as ``Photo.path`` of an array).
    max_side : int or None, optional
        Long side of the working copy (files and arrays; a Photo is not resampled).

    Returns
    -------
    Photo

    Raises
    ------
    ValueError
        An array that is not ``(H, W, 3)``, of another dtype than ``uint8``, ``uint16`` or
        float, with non-finite values or floats outside ``[0, 1]``; or another type of object.

    Examples
    --------
    >>> import numpy as np
    >>> import mesovision as mv
    >>> mv.as_photo(np.full((64, 48, 3), 255, np.uint8)).rgb.max()
    np.float32(1.0)
    >>> mv.as_photo(np.zeros((64, 48)), name="before")
    Traceback (most recent call last):
    ...
    ValueError: before: expected an RGB array shaped (H, W, 3), got shape (64, 48)
    >>> mv.as_photo(np.full((64, 48, 3), 1.5), name="after")
    Traceback (most recent call last):
    ...
    ValueError: after: float values must be in [0, 1], got [1.5, 1.5]
    """
    if isinstance(image, Photo):
        return image
    if isinstance(image, (str, os.PathLike)):
        return load_photo(image, max_side=max_side)
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{name}: expected a file path, a numpy array or a mesovision.Photo, "
            f"got {type(image).__name__} (an image object converts with numpy.asarray)"
        )
    _check_array(image, name)
    from .io import photo_from_array

    photo = photo_from_array(image, path=None)
    return _reduced(photo, max_side, name)


def _check_array(a: np.ndarray, name: str) -> None:
    """Refuse, with a ``ValueError`` naming ``name``, an array outside the array convention."""
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name}: expected an RGB array shaped (H, W, 3), got shape {a.shape}")
    if a.dtype in (np.uint8, np.uint16):
        return
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name}: unsupported dtype {a.dtype}; use uint8, uint16 or float")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: array has NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name}: float values must be in [0, 1], got [{lo:g}, {hi:g}]")


def _reduced(photo: Photo, max_side: int | None, name: str) -> Photo:
    """``photo`` reduced by area averaging to ``max_side`` on its long side (one scale for
    both axes, as :func:`mesovision.io.load_photo` reduces a file)."""
    w, h = photo.size
    if max_side is None or max(w, h) <= max_side:
        return photo
    import cv2

    s = max_side / max(w, h)
    new_w, new_h = max(1, round(w * s)), max(1, round(h * s))
    if abs(new_w / w - new_h / h) > _SCALE_TOLERANCE:
        raise ValueError(f"{name}: {w}x{h} cannot be reduced to max_side {max_side} with one scale")
    rgb = cv2.resize(photo.rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return dataclasses.replace(photo, rgb=np.ascontiguousarray(rgb), scale=new_w / w)


def align(
    before: ImageLike,
    after: ImageLike,
    *,
    mode: str = "face",
    refine: str = "ecc",
    model: str = "similarity",
    mask: str | os.PathLike[str] | None = None,
    max_side: int | None = 2048,
    force: bool = False,
    threads: int | None = None,
) -> AlignedPair:
    """Align the after photo onto the before photo (``mesovision align``).

    Parameters
    ----------
    before, after : str, os.PathLike, numpy.ndarray or Photo
        The photos (see :func:`as_photo`); the before photo is the reference frame.
    mode : {"face", "body", "scalp", "trichoscopy"}, optional
        ``face`` aligns on the face mesh; the others on image features: ``body`` (thigh,
        abdomen, arm), ``scalp`` (crown and part-line photos) and ``trichoscopy`` (hair
        close-ups, with ``px_per_mm`` in :func:`compare`); the hair modes are scored for the
        ``hair`` family only, the others for the skin families.
    refine : {"ecc", "none", "mesh"}, optional
        Refinement after the landmark fit (body mode: ``ecc`` or ``none``).
    model : {"similarity", "affine"}, optional
        Landmark fit model.
    mask : str or os.PathLike, optional
        The measured area as an image the size of the before photo (non-zero = measured);
        default: the facial skin, the detected skin in body mode, the whole photo in the hair
        modes.
    max_side : int or None, optional
        Long side of the working copies of files and arrays (default 2048).
    force : bool, optional
        Turn a capture or alignment threshold refusal into a warning.
    threads : int, optional
        Threads for the two photos' preparation (default: :mod:`mesovision._threads`).

    Returns
    -------
    AlignedPair
        ``alignment`` (:class:`~mesovision.types.Alignment`: matrix, ``residual_px``,
        ``coverage``, poses), ``aligned_after`` (the after photo in the before frame),
        ``regions`` (the before photo's region masks), ``warnings``.

    Raises
    ------
    NoFace, CaptureError, AlignmentError, IdentityMismatch
        The photos cannot be aligned within the thresholds (unless ``force``).
    UsageError
        An unknown option value.
    ValueError
        An image array outside the array convention.

    Examples
    --------
    >>> import mesovision as mv
    >>> pair = mv.align(*mv.sample_pair())
    >>> pair.alignment.method
    'landmarks-similarity+ecc'
    >>> pair.alignment.residual_px < 2.0, pair.aligned_after.shape
    (True, (1024, 1024, 3))
    """
    from .pipeline import align_pair

    return align_pair(
        as_photo(before, name="before", max_side=max_side),
        as_photo(after, name="after", max_side=max_side),
        mode=mode,
        refine=refine,
        model=model,
        mask_path=None if mask is None else os.fspath(mask),
        max_side=max_side,
        force=force,
        threads=threads,
    )


def compare(
    before: ImageLike,
    after: ImageLike,
    *,
    treated: str | list[str] | tuple[str, ...] = (),
    lighting: str = "reference",
    mode: str = "face",
    refine: str = "ecc",
    model: str = "similarity",
    mask: str | os.PathLike[str] | None = None,
    ipd_mm: float | None = None,
    px_per_mm: float | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
    max_side: int | None = 2048,
    force: bool = False,
    threads: int | None = None,
) -> Comparison:
    """Align, normalize, score and compare two photos (``mesovision compare``).

    Each change of each metric in each region gets a standard error, a test and a
    Benjamini-Hochberg adjusted p-value; each metric family a comparability verdict.

    Parameters
    ----------
    before, after : str, os.PathLike, numpy.ndarray or Photo
        The photos (see :func:`as_photo`); the before photo is the reference frame.
    treated : str or sequence of str, optional
        Treated regions (``["left_cheek"]`` or ``"left_cheek,right_cheek"``): left out of the
        lighting reference; their headline metrics are the primary endpoints.
    lighting : {"reference", "card", "none"}, optional
        Lighting normalization method.
    ipd_mm : float, optional
        The patient's IPD in mm (40-80; face mode: the scale of the metrics in mm² and per
        cm²; scalp mode: the frontal hairline in mm). Or ``px_per_mm``, the before file's
        pixels per mm; without either, a ruler in a hair photo (:mod:`mesovision.scale`).
    metrics : sequence of str, optional
        Metric names to score (default: the families of the mode, see :func:`metrics`).
    mode, refine, model, mask, max_side, force, threads
        As :func:`align`.

    Returns
    -------
    Comparison
        ``changes[region][metric]`` (:class:`~mesovision.noise.Change`), ``verdicts[family]``
        (:class:`~mesovision.comparability.Verdict`), ``significant()``, ``to_frame()``,
        ``save(folder)``; body mode: ``settings["body_checks"]`` (:mod:`mesovision.checks.body`).

    Raises
    ------
    UsageError
        An unknown region, metric, method or mode, or an implausible or doubled scale.
    ValueError
        An image array outside the array convention.
    MesovisionError
        Photos that cannot be aligned (as :func:`align`).

    Examples
    --------
    >>> import mesovision as mv
    >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek", "right_cheek"])
    >>> c = r.changes["left_cheek"]["redness.mean_a"]  # the sample's a* was lowered by 5
    >>> round(c.delta, 1), c.significant, c.endpoint, r.verdicts["colour"].status
    (-4.1, True, 'primary', 'comparable')
    """
    from .checks import add_body_checks
    from .compare import compare_pair
    from .frontal_hairline import add_hairline
    from .scale import resolve_scale

    treated_regions = _checked_options(treated, mode, ipd_mm, px_per_mm, metrics)
    align_options = {"mode": mode, "refine": refine, "model": model, "mask": mask}
    pair = align(before, after, **align_options, max_side=max_side, force=force, threads=threads)
    scale, pair = resolve_scale(pair, px_per_mm=px_per_mm, ipd_mm=ipd_mm)
    ppm = scale.px_per_mm_working
    pair = add_hairline(pair, px_per_mm_working=ppm, ipd_mm=ipd_mm)
    return add_body_checks(compare_pair(
        pair, lighting=lighting, treated=treated_regions, metrics=metrics,
        px_per_mm_at_before=ppm, threads=threads,
    ))  # fmt: skip


def _checked_options(
    treated: str | list[str] | tuple[str, ...],
    mode: str,
    ipd_mm: float | None,
    px_per_mm: float | None,
    metrics: list[str] | tuple[str, ...] | None,
) -> tuple[str, ...]:
    """Refuse, before any work, the options of :func:`compare` that would fail later; returns
    the treated regions as a tuple."""
    from .regions import validate_region_names

    if ipd_mm is not None and px_per_mm is not None:
        raise UsageError("give ipd_mm or px_per_mm, not both")
    if ipd_mm is not None and not 40 <= ipd_mm <= 80:
        raise UsageError(f"ipd_mm {ipd_mm} is not a plausible interpupillary distance (40-80 mm)")
    if ipd_mm is not None and mode not in ("face", "scalp"):
        raise UsageError("ipd_mm needs face or scalp mode (the pupils give the scale)")
    if px_per_mm is not None:
        from .scale import check_px_per_mm

        check_px_per_mm(px_per_mm)
    if metrics is not None:
        from .metrics import get_metric

        for name in metrics:
            get_metric(name)
    return validate_region_names(treated) if treated else ()


def metrics(family: str | None = None) -> list[MetricInfo]:
    """The registered metrics, sorted by name (what ``mesovision metrics`` lists).

    Parameters
    ----------
    family : str, optional
        Only this family's metrics (``texture``, ``redness``, ``pigmentation``, ``bruise``).

    Returns
    -------
    list of MetricInfo
        Name, family, unit, direction, description, formula and reference of each metric;
        ``pandas.DataFrame(mv.metrics())`` makes a table of them.

    Raises
    ------
    UsageError
        An unknown family (the message lists the valid ones).

    Examples
    --------
    >>> import mesovision as mv
    >>> m = {info.name: info for info in mv.metrics()}
    >>> m["redness.mean_a"].unit, m["redness.mean_a"].direction
    ('a*', 'higher_is_worse')
    >>> sorted({info.family for info in mv.metrics()})
    ['body', 'bruise', 'hair', 'pigmentation', 'redness', 'swelling', 'texture']
    """
    from .metrics import REGISTRY

    specs = [REGISTRY[name] for name in sorted(REGISTRY)]
    if family is not None:
        families = sorted({s.family for s in specs})
        if family not in families:
            raise UsageError(f"unknown metric family {family!r}; valid: {', '.join(families)}")
        specs = [s for s in specs if s.family == family]
    return [
        MetricInfo(
            name=s.name,
            family=s.family,
            unit=s.unit,
            direction=s.direction,
            description=s.summary,
            formula=s.formula,
            reference=s.reference,
            needs_scale=s.needs_scale,
        )
        for s in specs
    ]
