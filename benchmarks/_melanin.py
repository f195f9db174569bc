"""Darker skin of the same faces: the benchmarks' photos with more melanin in the skin.

:func:`darker_skin` darkens a face's skin region, grown a little, in linear light by melanin of
a given optical density (:func:`mesovision.testing.synthetic.add_melanin`); :func:`darker_face`
takes that region from the face's mesh; :func:`darker_photo` does so to a photo file and writes
the result losslessly, for a comparison to read as its before photo; :func:`small_photo` also
reduces the photo to the scale of the 150-px crops of ``../shared/faces`` and re-encodes it as
they are (``bruise.py --shrink-iod``). The ``--melanin`` options
of ``bruise.py``, ``calibration.py run``, ``validation.py``, ``alignment_truth.py``,
``swelling.py run`` and ``identity.py`` use them. :func:`darker_forehead` takes the skin up to
the hair by its colour (the mesh stops short of the hairline), for ``hairline.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: :func:`darker_skin` darkens the face's skin region grown by this share of the interocular
#: distance, feathered over a third of it: the face's skin is darkened whole (within 1 % of the
#: filter's optical density) and the change fades out beyond it, where neck, ears and hairline
#: lie.
MELANIN_GROW_IOD = 0.1


def darker_skin(rgb: np.ndarray, face: np.ndarray, iod_px: float, melanin: float) -> np.ndarray:
    """``rgb`` with more melanin in the skin (:func:`mesovision.testing.synthetic.add_melanin`,
    ``melanin`` the optical density at the red channel) over the face's skin region ``face``
    grown by ``MELANIN_GROW_IOD`` of ``iod_px`` (feathered over a third of that, inside the
    grown mask)."""
    import cv2

    from mesovision.testing.synthetic import add_melanin

    r = max(1, int(round(MELANIN_GROW_IOD * iod_px)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    grown = cv2.dilate(face.astype(np.uint8), disc).astype(bool)
    return add_melanin(rgb, grown, melanin, feather_px=max(1.0, r / 3.0))


def darker_face(rgb: np.ndarray, lm, melanin: float) -> np.ndarray:
    """:func:`darker_skin` over the skin region of the face whose mesh is ``lm`` (the
    :class:`~mesovision.landmarks.Landmarks` of ``rgb``)."""
    from mesovision.regions import region_masks

    face = region_masks(lm, rgb.shape, rgb=rgb)["face"]
    return darker_skin(rgb, face, lm.interocular_px, melanin)


#: :func:`small_photo` re-encodes as the 150-px crops of ``../shared/faces`` are: JPEG whose
#: quantization tables are those of quality 93 (the crops' mean luma step 8.1, chroma 12.2),
#: chroma subsampled 4:2:0.
SMALL_JPEG_QUALITY = 93


def small_photo(rgb: np.ndarray, lm, melanin: float, iod_px: float) -> np.ndarray:
    """``rgb`` (whose face mesh is ``lm``) as a small photo of darker skin: darkened at its own
    size (:func:`darker_face`, when ``melanin``), reduced (area-averaged) so that its eyes are
    at most ``iod_px`` apart, then encoded and decoded as a JPEG of quality
    ``SMALL_JPEG_QUALITY`` with 4:2:0 chroma, as the 150-px crops were; float32 sRGB."""
    import io

    import cv2
    from PIL import Image

    if melanin:
        rgb = darker_face(rgb, lm, melanin)
    k = iod_px / lm.interocular_px
    if k < 1.0:
        h, w = rgb.shape[:2]
        size = (max(1, round(w * k)), max(1, round(h * k)))
        rgb = cv2.resize(np.ascontiguousarray(rgb, np.float32), size, interpolation=cv2.INTER_AREA)
    img = Image.fromarray(np.round(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=SMALL_JPEG_QUALITY, subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / np.float32(255.0)


def darker_photo(path: Path, melanin: float, tmp: str, shrink_iod: float = 0.0):
    """``(path, rgb)``: the photo a comparison reads as its before photo and its pixels; with
    ``melanin``, the photo with darker skin (:func:`darker_skin`), and with ``shrink_iod``, made
    small (:func:`small_photo`, eyes at most that many px apart), written to ``tmp`` as an
    8-bit PNG and read back."""
    from mesovision.io import load_photo

    rgb = load_photo(path).rgb
    if not melanin and not shrink_iod:
        return path, rgb
    import cv2

    from mesovision.landmarks import detect_landmarks

    lm = detect_landmarks(rgb, path=str(path))
    if shrink_iod:
        dark = small_photo(rgb, lm, melanin, shrink_iod)
    else:
        dark = darker_face(rgb, lm, melanin)
    out = Path(tmp) / f"{path.stem}-melanin.png"
    cv2.imwrite(str(out), cv2.cvtColor(np.round(dark * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return out, load_photo(out).rgb


#: :func:`darker_forehead` takes as skin the pixels within this many robust SDs (1.4826 MAD) of
#: the face skin's median L*, a* and b*, lighter than hair (L* at least that many SDs below the
#: median is not skin), within a box from this many IODs above the face region's top.
SKIN_COLOUR_SD = 3.0
FOREHEAD_UP_IOD = 0.8


def skin_to_hair(rgb: np.ndarray, lm) -> np.ndarray:
    """The face's skin region (from its mesh) and the skin-coloured pixels connected to it in a
    box reaching ``FOREHEAD_UP_IOD`` above it: the skin up to the hairline."""
    import cv2

    from mesovision.color import rgb_to_lab
    from mesovision.regions import region_masks

    face = region_masks(lm, rgb.shape, rgb=rgb)["face"]
    lab = rgb_to_lab(rgb)
    med = np.median(lab[face], axis=0)
    sd = np.maximum(1.4826 * np.median(np.abs(lab[face] - med), axis=0), 1.0)
    near = (np.abs(lab - med) <= SKIN_COLOUR_SD * sd).all(axis=-1)
    rows, cols = np.nonzero(face)
    up = int(round(FOREHEAD_UP_IOD * lm.interocular_px))
    box = np.zeros_like(face)
    box[max(0, rows.min() - up) : rows.max() + 1, cols.min() : cols.max() + 1] = True
    cand = (near & box) | face
    _, labels = cv2.connectedComponents(cand.view(np.uint8), connectivity=4)
    keep = np.unique(labels[face])
    return np.isin(labels, keep[keep > 0])


def darker_forehead(rgb: np.ndarray, lm, melanin: float) -> np.ndarray:
    """:func:`darker_skin` over :func:`skin_to_hair` (the face's skin and the forehead up to the
    hair), so that no band of lighter skin is left below the hairline."""
    return darker_skin(rgb, skin_to_hair(rgb, lm), lm.interocular_px, melanin)
