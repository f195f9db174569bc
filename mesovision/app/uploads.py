"""Uploaded photos between the upload and the session they are filed with.

An upload is written to the server's staging folder inside the store folder
(``<store>/.uploads/run-<random>/``, mode 0700, the file mode 0600; :class:`Staging`) under a random
id, in a sub-folder named by that id with the user's file name reduced to safe characters
(:func:`safe_name`). The staging folder is removed when the server stops (Ctrl-C, SIGTERM, SIGHUP);
the folder a server killed outright left (``kill -9``, a crash, a power loss) is removed by the next
server of the store (:meth:`Staging.remove_stale`: only folders named ``run-<random>`` whose lock no
running server holds). Removing a patient discards the patient's uploads
(:meth:`Staging.discard_patient`); so does a removal from the command line or by another server of
the store, found at the upload's next status, thumbnail or filing and at the latest within
:data:`PRUNE_SECONDS` (:meth:`Staging.drop_gone`), and a patient added again under the same id never
gets the uploads of the one removed (:func:`patient_gone`). The capture checks' messages, the page
and the store name the photo by the file name the browser sent (:attr:`Upload.name`:
:func:`mesovision.store.uploaded_file_name`, its last component with spaces and accents kept); the
store records it as ``upload:<name>``, never the staged path. The page never sees a path; it gets
the id. The capture checks run at once on the worker (:func:`check_upload`:
:func:`mesovision.checks.check_photo` against the course's baseline photo of the view, as ``session
add`` runs them), with the limits of :func:`mesovision.io.load_photo` (bytes and pixels); a file the
loader refuses is dropped from the staging folder. The thumbnail shown beside the messages is a new
rendering (at most :data:`THUMB_SIDE` px, no metadata) with the face mesh's region polygons drawn;
the uploaded bytes are never served back. Filing the session imports the staged files into the store
with a managed copy (``session add --copy``), after which the staged files are deleted.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import secrets
import shutil
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..store import uploaded_file_name
from ..store.staging import UPLOADS_DIR, lock_folder, remove_stale_runs

__all__ = [
    "PRUNE_SECONDS",
    "THUMB_SIDE",
    "UPLOADS_DIR",
    "Staging",
    "Upload",
    "baseline_of",
    "check_upload",
    "patient_gone",
    "patient_mark",
    "safe_name",
    "thumbnail",
]

#: Long side of the thumbnail shown beside a photo's checks, in pixels.
THUMB_SIDE = 480

#: Seconds between two looks for the staged uploads of patients removed meanwhile (from the
#: command line, or by another server of the store): :meth:`Staging.drop_gone`.
PRUNE_SECONDS = 5.0

log = logging.getLogger(__name__)


def safe_name(name: str | None) -> str:
    """A file name of letters, digits, ``.``, ``-`` and ``_`` (others become ``_``), at most
    100 characters, keeping the extension; ``photo.jpg`` when nothing is left."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[-100:]
    return base or "photo.jpg"


@dataclass
class Upload:
    """One staged photo: its id, the user's file name (as the browser sent it, made safe to
    show: :func:`mesovision.store.uploaded_file_name`), its staged file, the view, its check
    results."""

    id: str
    name: str
    path: Path
    view: str
    patient_id: str
    report: dict | None = None
    thumb: bytes | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)
    #: the baseline photo the checks ran against (``None``: none, the photo would be the first)
    baseline: int | None = None
    #: the failing checks the page was told of (a reason given covers these only)
    shown: set = field(default_factory=set)
    #: the library's warnings of the checks (two faces, ...), in the app's words
    warnings: list = field(default_factory=list)
    #: the patient as it was at the upload (:func:`patient_mark`; ``None``: not known)
    mark: tuple | None = None

    def failing(self) -> dict[str, str]:
        """The failing checks of the report: name to message."""
        checks = (self.report or {}).get("checks", [])
        return {c["name"]: c["message"] for c in checks if not c["ok"] and c["severity"] == "fail"}


class Staging:
    """The server's staging folder in the store and its uploads by id. The folder is made on
    first use (a server that receives no upload leaves nothing behind) and holds an exclusive
    ``flock`` while the server runs, so that another server of the store never removes it."""

    def __init__(self, store_dir: str | os.PathLike[str]) -> None:
        #: ``<store>/.uploads``: the staging folders of the store's servers
        self.base = Path(store_dir).absolute() / UPLOADS_DIR
        self._root: Path | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def root(self) -> Path:
        """This server's staging folder (``<store>/.uploads/run-<random>``, mode 0700), made
        on first use; a :class:`~mesovision.errors.StoreError` when ``.uploads`` is not a folder
        (a link, a file)."""
        with self._lock:
            if self._root is None:
                self._root, self._fd = _new_run_folder(self.base)
            return self._root

    def add(
        self, name: str | None, data_file, *, view: str, patient_id: str, mark: tuple | None = None
    ) -> Upload:
        """Copy the uploaded file object into the staging folder as a new upload (mode 0600)
        of the patient (as :func:`patient_mark` saw it: ``mark``); an
        :class:`~mesovision.errors.OutputError` when it cannot be written (nothing kept)."""
        uid = secrets.token_hex(12)
        folder = self.root / uid
        folder.mkdir(mode=0o700)
        up = Upload(uid, uploaded_file_name(name), folder / safe_name(name), view, patient_id)
        up.mark = mark
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            with open(os.open(up.path, flags, 0o600), "wb") as out:
                shutil.copyfileobj(data_file, out, 1 << 20)
        except OSError as e:  # a full disk: nothing of the upload is kept
            from ..errors import OutputError

            shutil.rmtree(folder, ignore_errors=True)
            reason = e.strerror or str(e)
            raise OutputError(f"cannot stage the upload: {reason}", path=str(folder)) from None
        with self._lock:
            self._uploads[uid] = up
            if self._watcher is None:  # looks for uploads of patients removed meanwhile
                self._stop = threading.Event()
                self._watcher = threading.Thread(
                    target=self._watch, args=(self._stop,), name="mesovision-staging", daemon=True
                )
                self._watcher.start()
        return up

    def get(self, uid: str) -> Upload | None:
        with self._lock:
            return self._uploads.get(uid)

    def discard(self, uid: str) -> None:
        """Forget an upload and delete its staged file."""
        with self._lock:
            up = self._uploads.pop(uid, None)
        if up is not None:
            shutil.rmtree(up.path.parent, ignore_errors=True)

    def discard_patient(self, patient_id: str) -> int:
        """Forget every upload of the patient and delete their staged files; how many."""
        with self._lock:
            uids = [uid for uid, up in self._uploads.items() if up.patient_id == patient_id]
        for uid in uids:
            self.discard(uid)
        return len(uids)

    def drop_gone(self, uids=None) -> int:
        """Forget the uploads (every one, or those of ``uids``) whose patient is gone
        (:func:`patient_gone`: removed from the command line or by another server, or removed
        and added again) and delete their staged files; how many. A store that cannot be
        read now drops nothing."""
        import sqlite3

        from ..errors import MesovisionError
        from ..store import open_store

        with self._lock:
            ups = [u for k, u in self._uploads.items() if uids is None or k in uids]
        if not ups:
            return 0
        try:
            with open_store(self.base.parent, create=False) as store:
                gone = [u.id for u in ups if patient_gone(store, u)]
        except (MesovisionError, sqlite3.Error, OSError):
            return 0
        for uid in gone:
            self.discard(uid)
        if gone:
            log.info("deleted %d staged upload(s) of a patient removed", len(gone))
        return len(gone)

    def _watch(self, stop: threading.Event) -> None:
        """Every :data:`PRUNE_SECONDS` until :meth:`close` sets ``stop``: :meth:`drop_gone`."""
        while not stop.wait(PRUNE_SECONDS):
            try:
                self.drop_gone()
            except Exception:  # a defect: logged, the server keeps running
                log.exception("looking for uploads of removed patients failed")

    def remove_stale(self) -> int:
        """Remove the staging folders that servers of this store no longer running left (killed
        outright, a crash, a power loss): only folders named ``run-<random>``, never through a
        link, and only when no running server holds their lock
        (:func:`mesovision.store.staging.remove_stale_runs`, as ``store check --repair`` does).
        A ``.uploads`` that is a symbolic link (or not a folder) is neither listed nor deleted
        through: a warning says so. How many were removed."""
        return len(remove_stale_runs(self.base.parent))

    def close(self) -> None:
        """Delete the staging folder and everything staged (if an upload ever made it)."""
        self._stop.set()
        with self._lock:
            root, self._root = self._root, None
            fd, self._fd = self._fd, None
            watcher, self._watcher = self._watcher, None
            self._uploads.clear()
        if watcher is not None:
            watcher.join(timeout=10)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.rmdir(self.base)
        if fd is not None:
            os.close(fd)


def _new_run_folder(base: Path) -> tuple[Path, int | None]:
    """A new ``run-<random>`` folder in ``base`` (made, mode 0700) and the descriptor holding
    its lock. Another server's :meth:`Staging.remove_stale` may remove ``base``, or the new
    folder before it is locked: then it is made again. An
    :class:`~mesovision.errors.OutputError` when the store folder cannot hold it."""
    from ..errors import OutputError, StoreError

    try:
        for _ in range(5):
            with contextlib.suppress(FileExistsError):
                base.mkdir(mode=0o700)
            if not stat.S_ISDIR(os.lstat(base).st_mode):
                raise StoreError(
                    "is not a folder: the app stages uploads there; move it out of the store "
                    "folder",
                    path=str(base),
                )
            path = base / f"run-{secrets.token_hex(8)}"
            try:
                os.mkdir(path, 0o700)
            except FileNotFoundError:  # base removed meanwhile (it was empty): made again
                continue
            fd = lock_folder(path, wait=True)
            with contextlib.suppress(FileNotFoundError):  # else removed as stale before locked
                if fd is None or os.path.samestat(os.fstat(fd), os.lstat(path)):
                    return path, fd
            os.close(fd)
    except OSError as e:
        reason = e.strerror or str(e)
        raise OutputError(
            f"cannot make the staging folder of uploads: {reason}", path=str(base)
        ) from None
    raise OutputError("cannot make the staging folder of uploads", path=str(base))


def patient_mark(store, patient_id: str) -> tuple[str, int]:
    """What tells the patient ``patient_id`` from a later patient of the same id: when its
    record was made, and the last patient removal in the store's log of changes so far
    (:meth:`~mesovision.store.Store.patient_removals`: never erased, the row has no id)."""
    return store.patient(patient_id)["created"], store.patient_removals()[0]


def patient_gone(store, up: Upload) -> bool:
    """Whether the upload's patient is no longer the one it was uploaded for
    (:attr:`Upload.mark`): no patient of its id, or one made at another time, or in the second
    of a patient removal logged since the upload (removed and added again at once). A staged
    photo is never filed under a new patient who reuses the id."""
    from ..errors import UnknownPatient

    if up.mark is None:
        return False
    created, last = up.mark
    try:
        if store.patient(up.patient_id)["created"] != created:
            return True
    except UnknownPatient:
        return True
    first = store.patient_removals(last)[1]
    return first is not None and created >= first


def baseline_of(store, up: Upload, date: str | None = None) -> tuple[dict | None, str | None]:
    """The course's baseline photo of the upload's view and its file, as filing on ``date``
    checks against it (none when the session comes before it: it becomes the baseline)."""
    base = store.baseline_photo(up.patient_id, up.view)
    if base is not None and date is not None and date < store.session(base["session_id"])["date"]:
        base = None
    return base, (str(store.photo_file(base)) if base else None)


def check_upload(
    store_dir, up: Upload, date: str | None = None, *, thumb: bool = True, shown: bool = True
) -> None:
    """Run the capture checks on a staged upload (against the course's baseline photo of its
    view, as a session dated ``date`` is checked) and make its thumbnail; a file the loader
    refuses gets ``error`` (and is deleted). The library's warnings go to ``warnings``; with
    ``shown`` (the checks at upload, which the page shows) the failing ones to ``shown``."""
    from .notices import captured_warnings

    with captured_warnings({str(up.path): up.name}) as said:
        _check_upload(store_dir, up, date, thumb)
    up.warnings = said
    if shown:
        up.shown |= set(up.failing())


def _check_upload(store_dir, up: Upload, date: str | None, thumb: bool) -> None:
    from ..checks import CaptureFeatures, check_photo
    from ..course import file_descriptor, same_person_check
    from ..errors import MesovisionError
    from ..store import open_store

    try:
        with open_store(store_dir) as store:
            base, base_path = baseline_of(store, up, date)
        features = (
            CaptureFeatures.from_dict(base["features"]) if base and base["features"] else None
        )
        report = check_photo(str(up.path), view=up.view, baseline=features)
        checks = list(report.checks)
        if base is not None and report.features.face_found:
            desc = file_descriptor(str(up.path), report.sha256)
            if desc is not None:
                checks.append(same_person_check(base, base_path, desc))
        up.report = report.as_dict() | {"file": up.name, "checks": checks}
        up.report["duplicate"] = _duplicate(store_dir, report.sha256)
        up.baseline = base["id"] if base else None
        if thumb:
            up.thumb = thumbnail(str(up.path), face=up.view in ("front", "left-45", "right-45"))
    except MesovisionError as e:
        up.error = f"{up.name}: {e.message}"
        shutil.rmtree(up.path.parent, ignore_errors=True)
    except Exception as e:  # a defect: the page must still hear of it, not wait for a report
        if not up.path.exists():  # discarded, or the server stopped, while it was checked
            up.error = f"{up.name}: discarded"
            return
        logging.getLogger(__name__).exception("checks of %s failed", up.name)
        up.error = f"{up.name}: the checks failed ({type(e).__name__}: {e}); see the server log"


def _duplicate(store_dir, sha256: str) -> str | None:
    """Why a photo cannot be filed because the store holds its file already (as filing says
    it), or ``None``."""
    from ..store import open_store

    with open_store(store_dir) as store:
        old = store.photo_by_hash(sha256)
    if old is None:
        return None
    return (
        f"this photo is already in the store (photo {old['id']}, patient {old['patient_id']}, "
        f"session {old['session_id']} of {old['date']})"
    )


def thumbnail(path: str, *, face: bool = True) -> bytes:
    """A JPEG of the photo at most :data:`THUMB_SIDE` px, with the region polygons drawn when a
    face is found (pixels only: no EXIF, ICC or text)."""
    import cv2
    import numpy as np
    from PIL import Image

    from ..errors import NoFace
    from ..io import load_photo

    rgb = load_photo(path, max_side=THUMB_SIDE).rgb
    lm = None
    if face:  # a face lying sideways is shown turned upright, as it is measured
        from ..landmarks import detect_landmarks_upright

        try:
            _, rgb, lm = detect_landmarks_upright(rgb, path=path, warn_faces=False)
        except NoFace:
            pass
    img = np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    if lm is not None:
        from ..regions import region_polygons

        for name, poly in region_polygons(lm).items():
            colour = (255, 255, 255) if name == "face" else (40, 200, 255)
            pts = np.round(np.asarray(poly)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(img, [pts], True, colour, 2, cv2.LINE_AA)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=85)
    return buf.getvalue()
