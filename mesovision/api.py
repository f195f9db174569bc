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
``uint16`` as 0-65535, and a float array must hold finite values in ``[0, 1]`` (``float16``
holds 8-bit levels only to about 2e-4, which can move a change near its limit: prefer
``float32``); every other shape, dtype or range is refused with a
:class:`~mesovision.errors.UsageError` (also a ``ValueError``) naming the argument. OpenCV's
``cv2.imread`` gives BGR, not RGB: pass ``img[..., ::-1]`` (or the file's path). Arrays are
converted to the package's working type, ``float32`` in ``[0, 1]``
(:func:`mesovision.io.photo_from_array`), checked and reduced like a loaded file (at least 32 px
on each side, the long side reduced to ``max_side``). A mask array is ``bool`` or ``uint8``
``(rows, columns)`` the size of the before photo (non-zero = measured).

Every bad argument raises :class:`~mesovision.errors.UsageError` naming it, and every refusal is
a :class:`~mesovision.errors.MesovisionError`; their advice names the keyword
(``pass force=True to proceed``), and each warning is logged once per call
(:mod:`mesovision._advice`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ._advice import api_call
from ._api_args import (
    check_array,
    checked_mask,
    checked_max_side,
    checked_options,
    checked_threads,
    kind,
    max_side_used,
    reduced,
)
from .errors import UsageError
from .types import MetricInfo, Photo

if TYPE_CHECKING:
    from .compare import Comparison
    from .pipeline import AlignedPair
else:  # resolved by typing.get_type_hints on demand (importing them here would load OpenCV)
    import mesovision  # noqa: F401 (the names below are looked up in it)

    Comparison, AlignedPair = "mesovision.Comparison", "mesovision.AlignedPair"

__all__ = [
    "ImageLike",
    "align",
    "as_photo",
    "compare",
    "load_photo",
    "metrics",
    "sample_pair",
]

ImageLike = Union[str, os.PathLike, Photo, np.ndarray]  # noqa: UP007 (a runtime alias)
"""What the API accepts as an image: a file path, a :class:`~mesovision.types.Photo` or an RGB
array (the module's array convention); ``mv.ImageLike`` annotates a function that passes one on."""


def sample_pair(name: str = "astronaut", after: str = "treated") -> tuple[Path, Path]:
    """Paths of a before/after pair shipped in ``sample_images/``.

    Parameters
    ----------
    name : {"astronaut", "grace_hopper", "scalp", "thigh"}, optional
        The sample: two faces (``mode="face"``), a crown view of the scalp (``mode="scalp"``)
        and a thigh (``mode="body"``).
    after : str, optional
        The after photo: ``"treated"`` (the faces and the thigh: with the recorded treatment
        effects, e.g. on the cheeks, forehead and chin; the scalp: denser hair,
        ``after_denser.jpg``), ``"no_change"`` (the same skin re-photographed), or the name of
        the sample's ``after_<name>.jpg`` (``"denser"``).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The before and after JPEG files (both exist).

    Raises
    ------
    InputFileError
        The sample folder is not found (it ships with the repository, not the wheel).
    UsageError
        An unknown ``name``, or an ``after`` the sample has no photo for (the message lists
        the valid ones).

    Examples
    --------
    >>> import mesovision as mv
    >>> before, after = mv.sample_pair()
    >>> before.name, after.name
    ('before.jpg', 'after_treated.jpg')
    >>> mv.sample_pair("scalp")[1].name
    'after_denser.jpg'
    """
    from .demo import find_samples

    folder = find_samples(None)
    names = sorted(p.name for p in folder.iterdir() if (p / "before.jpg").is_file())
    if name not in names:
        raise UsageError(f"unknown sample {name!r}; valid: {', '.join(names)}")
    # the sample's own after photos, and "treated" for the one that is not "no_change"
    own = {p.stem.removeprefix("after_"): p for p in sorted((folder / name).glob("after_*.jpg"))}
    changed = [p for stem, p in own.items() if stem != "no_change"]
    valid = {**own, **({"treated": changed[0]} if len(changed) == 1 else {})}
    if after not in valid:
        raise UsageError(f"unknown after photo {after!r} of {name}; valid: {', '.join(valid)}")
    return folder / name / "before.jpg", valid[after]


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
    UsageError
        ``path`` is not a path, or ``max_side`` not a positive integer or ``None``.

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

    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"path: expected a file path (str or os.PathLike), got {kind(path)}")
    return _load(path, max_side=checked_max_side(max_side))


def as_photo(image: ImageLike, *, name: str = "image", max_side: int | None = 2048) -> Photo:
    """A :class:`~mesovision.types.Photo` from a file path, an array or a Photo.

    Parameters
    ----------
    image : str, os.PathLike, numpy.ndarray or Photo
        A file (loaded with :func:`load_photo`), an RGB array (see the module's array
        convention) or a Photo (returned as it is).
    name : str, optional
        The argument's name, used in error messages (an array's ``Photo.path`` is ``None``:
        ``result.json`` records its ``file`` as ``null``).
    max_side : int or None, optional
        Long side of the working copy (files and arrays; a Photo is not resampled).

    Returns
    -------
    Photo

    Raises
    ------
    UsageError
        An array that is not ``(H, W, 3)``, of another dtype than ``uint8``, ``uint16`` or
        float, with non-finite values or floats outside ``[0, 1]``; another type of object; a
        ``max_side`` that is not a positive integer or ``None``. A ``UsageError`` is also a
        ``ValueError``.
    InvalidImage
        An image (file or array) with a side under 32 px, as given or once reduced to
        ``max_side``.

    Examples
    --------
    >>> import numpy as np
    >>> import mesovision as mv
    >>> mv.as_photo(np.full((64, 48, 3), 255, np.uint8)).rgb.max()
    np.float32(1.0)
    >>> mv.as_photo(np.zeros((64, 48)), name="before")
    Traceback (most recent call last):
    ...
    mesovision.errors.UsageError: before: expected an RGB array shaped (H, W, 3), got shape (64, 48)
    >>> mv.as_photo(np.full((64, 48, 3), 1.5), name="after")
    Traceback (most recent call last):
    ...
    mesovision.errors.UsageError: after: float values must be in [0, 1], got [1.5, 1.5]
    """
    max_side = checked_max_side(max_side)
    if isinstance(image, Photo):
        return image
    if isinstance(image, (str, os.PathLike)):
        return load_photo(image, max_side=max_side)
    if not isinstance(image, np.ndarray):
        raise UsageError(
            f"{name}: expected a file path, a numpy array or a mesovision.Photo, "
            f"got {kind(image)} (give its file's path, or mesovision.load_photo(path): "
            "numpy.asarray of an image object drops its EXIF orientation and colour profile)"
        )
    check_array(image, name)
    from .io import photo_from_array
    from .io.limits import check_wide_enough

    check_wide_enough(image.shape[1], image.shape[0], max_side, name)
    photo = photo_from_array(image, path=None)
    return reduced(photo, max_side, name)


def align(
    before: ImageLike,
    after: ImageLike,
    *,
    mode: str = "face",
    refine: str = "ecc",
    model: str = "similarity",
    mask: str | os.PathLike[str] | np.ndarray | None = None,
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
    mask : str, os.PathLike or numpy.ndarray, optional
        The measured area, non-zero = measured: an image file the size of the before photo's
        file, or a ``bool`` or ``uint8`` array shaped ``(rows, columns)`` like the before photo
        as given (its file as displayed, or its array); ``settings["mask"]`` records the file,
        or ``"array"``. Default: the facial skin, the detected skin in body mode, the whole
        photo in the hair modes.
    max_side : int or None, optional
        Long side of the working copies of files and arrays (default 2048). A Photo is used as
        it is: ``settings["max_side"]`` records the value that gives the working copies used
        (``None`` for Photos at full resolution).
    force : bool, optional
        Turn a capture or alignment threshold refusal into a warning (logged once, and kept in
        ``warnings`` and ``forced``).
    threads : int, optional
        Threads for the two photos' preparation, a positive integer (default:
        :mod:`mesovision._threads`; OpenCV's and BLAS's own thread pools are held to one
        thread, process-wide, while the stages run, whatever the thread count).

    Returns
    -------
    AlignedPair
        ``alignment`` (:class:`~mesovision.types.Alignment`: matrix, ``residual_px``,
        ``coverage``, poses), ``aligned_after`` (the after photo in the before frame),
        ``regions`` (the before photo's region masks), ``warnings``.

    Raises
    ------
    NoFace, CaptureError, AlignmentError, IdentityMismatch
        The photos cannot be aligned within the thresholds (unless ``force``); the message
        ends with ``(pass force=True to proceed)`` where ``force`` would proceed.
    UsageError
        An unknown option value, an image array outside the array convention, a bad ``mask``,
        ``max_side`` or ``threads`` (each named in the message).

    Examples
    --------
    >>> import mesovision as mv
    >>> pair = mv.align(*mv.sample_pair())
    >>> pair.alignment.method
    'landmarks-similarity+ecc'
    >>> pair.alignment.residual_px < 2.0, pair.aligned_after.shape
    (True, (1024, 1024, 3))
    """
    with api_call():
        options = {"mode": mode, "refine": refine, "model": model, "force": force}
        return _aligned(before, after, mask, max_side, checked_threads(threads), options)


def _aligned(
    before: ImageLike,
    after: ImageLike,
    mask: str | os.PathLike[str] | np.ndarray | None,
    max_side: int | None,
    threads: int | None,
    options: dict[str, str | bool],
) -> AlignedPair:
    """:func:`align`'s work: the photos and the mask checked, the pair aligned, and its
    settings recording the ``max_side`` that gives its working copies and an array mask."""
    from .pipeline import align_pair

    photos = (
        as_photo(before, name="before", max_side=max_side),
        as_photo(after, name="after", max_side=max_side),
    )
    mask = checked_mask(mask, photos[0])
    pair = align_pair(*photos, **options, mask_path=mask, max_side=max_side, threads=threads)
    used = max_side_used(max_side, photos)
    if used == max_side and not isinstance(mask, np.ndarray):
        return pair
    settings = {**pair.settings, "max_side": used}
    if isinstance(mask, np.ndarray):
        settings["mask"] = "array"
    return dataclasses.replace(pair, settings=settings)


def compare(
    before: ImageLike,
    after: ImageLike,
    *,
    treated: str | list[str] | tuple[str, ...] = (),
    lighting: str = "reference",
    mode: str = "face",
    refine: str = "ecc",
    model: str = "similarity",
    mask: str | os.PathLike[str] | np.ndarray | None = None,
    ipd_mm: float | None = None,
    px_per_mm: float | None = None,
    metrics: str | list[str] | tuple[str, ...] | None = None,
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
    metrics : str or sequence of str, optional
        Metric names to score (a list, or one string separated by commas), among the mode's
        (default: all of them, :func:`mesovision.metrics.metrics_for_mode`).
    mode, refine, model, mask, max_side, force, threads
        As :func:`align`.

    Returns
    -------
    Comparison
        ``changes[region][metric]`` (:class:`~mesovision.noise.Change`), ``verdicts[family]``
        (:class:`~mesovision.comparability.Verdict`), ``significant()``, ``to_frame()``,
        ``to_dict()``, ``save(folder)``; body mode: ``settings["body_checks"]``.

    Raises
    ------
    UsageError
        An unknown region, method or mode; a metric unknown or not scored in the mode; an
        implausible or doubled scale; a bad argument (as :func:`align`).
    MesovisionError
        Photos that cannot be aligned (as :func:`align`); no colour card (``LightingError``).

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

    with api_call():
        treated_regions, names = checked_options(treated, mode, ipd_mm, px_per_mm, metrics)
        options = {"mode": mode, "refine": refine, "model": model, "mask": mask, "force": force}
        pair = align(before, after, **options, max_side=max_side, threads=threads)
        scale, pair = resolve_scale(pair, px_per_mm=px_per_mm, ipd_mm=ipd_mm)
        ppm = scale.px_per_mm_working
        pair = add_hairline(pair, px_per_mm_working=ppm, ipd_mm=ipd_mm)
        return add_body_checks(compare_pair(
            pair, lighting=lighting, treated=treated_regions, metrics=names,
            px_per_mm_at_before=ppm, threads=threads,
        ))  # fmt: skip


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
