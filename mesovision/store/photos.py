"""Photos of a session: importing them, optionally as managed copies, and reading them back.

:meth:`PhotoRecords.import_session` adds a session and all its photos in one transaction: each
file is read once, its SHA-256 checked against what the capture checks saw and against the
store (a photo is never imported twice). A managed copy (``copy=True``) is the photo without its
identifying metadata (:func:`mesovision.io.strip_metadata`), written to
``photos/<sha256>.<ext>`` under the files ledger (:mod:`mesovision.store.ledger`) before the
commit.

The record of where a photo came from (``original_path``) is the absolute path of the file
filed (``session add --photo``), or for a photo uploaded through the clinic app
(:mod:`mesovision.app`, ``PhotoImport.upload_name``) :data:`UPLOAD_PREFIX` and the file name the
browser sent (:func:`uploaded_file_name`): the file filed was a staged copy, deleted after
filing, so no path on this machine is recorded. Such a photo is always filed with a managed
copy, and is read from that copy only.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError, StoreError, UsageError
from ..views import needs_scale, validate_view
from .ledger import read_input_bytes
from .schema import DB_NAME, PHOTOS_DIR, now_utc, validate_date

__all__ = [
    "MAX_UPLOAD_NAME",
    "UPLOAD_PREFIX",
    "PhotoImport",
    "PhotoRecords",
    "check_photo_scale",
    "managed_copy",
    "photo_file_name",
    "record_photo_file",
    "uploaded_file_name",
]

#: The start of the ``original_path`` of a photo uploaded through the app: ``upload:`` and the
#: file name the browser sent (never an absolute path, which every other record is).
UPLOAD_PREFIX = "upload:"
#: The longest uploaded file name recorded (characters; the end, with the extension, is kept).
MAX_UPLOAD_NAME = 255
#: Invisible characters that reorder or hide text (bidirectional overrides and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def uploaded_file_name(name: str | None) -> str:
    """The file name a browser sent with an upload, as the store records and the pages show it:
    its last component (a browser may send ``folder/name.jpg``, an old one ``C:\\...\\name.jpg``),
    spaces and other scripts kept as given, characters that could forge or hide text on a
    terminal or page (control characters, line and paragraph separators, bidirectional
    overrides, lone surrogates) replaced by ``_``, at most :data:`MAX_UPLOAD_NAME` characters
    (the end kept); ``(no name)`` when nothing is left."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        "_" if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") else ch
        for ch in base
    )[-MAX_UPLOAD_NAME:]
    return base or "(no name)"


def photo_file_name(original_path: str) -> tuple[str, bool]:
    """``(the user's file name, uploaded)`` of a photo's ``original_path`` record: the uploaded
    file's name and True, else the last component of the path filed and False."""
    if original_path.startswith(UPLOAD_PREFIX):
        return original_path[len(UPLOAD_PREFIX) :], True
    return Path(original_path).name, False


@dataclass(frozen=True)
class PhotoImport:
    """A photo to import: its file, view and what the capture checks found."""

    path: str
    view: str = "front"
    sha256: str | None = None
    capture_date: str | None = None
    checks: Sequence[dict] = ()
    features: dict | None = None
    #: The file name the browser sent, for a photo uploaded through the app (``path`` is its
    #: staged copy): recorded as ``upload:<name>`` (:func:`uploaded_file_name`) instead of the
    #: path. Needs ``copy``.
    upload_name: str | None = None
    #: The file's pixels per mm (``session add --px-per-mm``; ``None``: no scale). Needed for a
    #: view of :data:`mesovision.views.SCALED_KINDS`.
    px_per_mm: float | None = None


class PhotoRecords:
    """The photos of :class:`~mesovision.store.Store` (a mixin)."""

    def _photo_dict(self, r: sqlite3.Row) -> dict:
        """A photo row as a dict. ``file`` is the file to read (:meth:`photo_file`) and
        ``sha256`` the SHA-256 of that file (what a reader verifies: for a managed copy, the
        copy without metadata as recorded when written); ``original_sha256`` is the imported
        original's (the photo's identity, the ``sha256`` column). ``file_name`` is the user's
        file name (an upload's name as the browser sent it, else the last component of
        ``original_path``) and ``uploaded`` whether the photo came through the app; ``file`` is
        None for an upload without its managed copy (a damaged store, :meth:`photo_file`)."""
        d = dict(r)
        d["original_sha256"] = d["sha256"]
        d["file_name"], d["uploaded"] = photo_file_name(d["original_path"])
        if d["managed_path"]:
            f = self.conn.execute(
                "SELECT sha256 FROM files WHERE path = ?", (d["managed_path"],)
            ).fetchone()
            if f is not None and f[0]:
                d["sha256"] = f[0]
        d["checks"] = json.loads(d["checks"])
        d["features"] = json.loads(d["features"]) if d["features"] else None
        d["file"] = None if d["uploaded"] and not d["managed_path"] else str(self.photo_file(d))
        return d

    def photo_file(self, photo: dict) -> Path:
        """The file to read for a photo: its managed copy if any, else the original path. An
        uploaded photo has no file outside the store: without its managed copy,
        :class:`StoreError`."""
        if photo.get("managed_path"):
            return self.directory / photo["managed_path"]
        name, uploaded = photo_file_name(photo["original_path"])
        if uploaded:
            raise StoreError(
                f"photo {photo['id']} ({name}) was uploaded and has no managed copy "
                "(mesovision store check lists every problem)",
                path=str(self.directory / DB_NAME),
            )
        return Path(photo["original_path"])

    def photo_by_hash(self, sha256: str) -> dict | None:
        """The stored photo with this content hash (and its session's patient and date)."""
        r = self.conn.execute(
            "SELECT p.*, s.patient_id, s.date FROM photos p JOIN sessions s "
            "ON s.id = p.session_id WHERE p.sha256 = ?",
            (sha256,),
        ).fetchone()
        return self._photo_dict(r) if r else None

    def baseline_photo(self, patient_id: str, view: str) -> dict | None:
        """The photo of ``view`` in the patient's first session that has one (the baseline)."""
        r = self.conn.execute(
            "SELECT p.* FROM photos p JOIN sessions s ON s.id = p.session_id "
            "WHERE s.patient_id = ? AND p.view = ? ORDER BY s.date, s.id LIMIT 1",
            (patient_id, view),
        ).fetchone()
        return self._photo_dict(r) if r else None

    def _duplicate_error(self, sha: str, path: str) -> UsageError | None:
        old = self.photo_by_hash(sha)
        if old is None:
            return None
        return UsageError(
            f"this photo is already in the store (photo {old['id']}, patient "
            f"{old['patient_id']}, session {old['session_id']} of {old['date']})",
            path=path,
        )

    def import_session(
        self,
        patient_id: str,
        *,
        date: str,
        photos: Sequence[PhotoImport],
        treated: Sequence[str] = (),
        product: str | None = None,
        notes: str | None = None,
        copy: bool = False,
        recheck=None,
    ) -> dict:
        """Add a session and its photos in one transaction: all of it, or nothing.

        Each photo's file is read once: its SHA-256 is checked against ``PhotoImport.sha256``
        (when given: the file must not change between the checks and the import) and against
        the store (:class:`UsageError` for a photo already imported). With ``copy`` the bytes
        are also written to ``photos/<sha256>.<ext>`` (temporary file, fsync, rename) before the
        commit. ``recheck`` (see :meth:`edit_session`) re-runs, in the same transaction, the
        checks of the photos whose baseline the new session changed. Returns the new session
        (as :meth:`session`).
        """
        validate_date(date)
        if not photos:
            raise UsageError("a session needs at least one photo")
        views = [validate_view(p.view) for p in photos]
        for p in photos:
            check_photo_scale(p.view, p.px_per_mm, path=p.path)
        for p in photos:
            if p.upload_name is not None and not copy:
                raise UsageError("an uploaded photo is filed with a managed copy", path=p.path)
        if len(set(views)) != len(views):
            raise UsageError(
                f"two photos of the same view ({', '.join(views)}): one photo per view and "
                "session; give --view once per --photo"
            )
        self.patient(patient_id)
        hashes: list[str] = []
        for p in photos:
            h = p.sha256 or _sha256_of(p.path)
            if h in hashes:
                raise UsageError("the same photo is given twice", path=p.path)
            err = self._duplicate_error(h, p.path)
            if err:
                raise err
            hashes.append(h)
        written: list[Path] = []
        try:
            with self.write() as c:
                self.patient(patient_id)
                cur = c.execute(
                    "INSERT INTO sessions (patient_id, date, treated, product, notes, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (patient_id, date, json.dumps(list(treated)), product, notes, now_utc()),
                )
                sid = cur.lastrowid
                for p, h in zip(photos, hashes, strict=True):
                    err = self._duplicate_error(h, p.path)  # imported meanwhile by another process
                    if err:
                        raise err
                    managed = None
                    if copy:
                        managed = self._copy_in(p.path, h)
                        written.append(self.directory / managed)
                    elif _sha256_of(p.path) != h:
                        raise InputFileError("the file changed during the import", path=p.path)
                    self._insert_photo(c, sid, p, h, managed)
                self._apply_recheck(c, patient_id, recheck)
        except BaseException:
            for w in written:
                with contextlib.suppress(OSError):
                    w.unlink()
            raise
        return self.session(sid)

    def _insert_photo(self, c, sid: int, p: PhotoImport, sha: str, managed: str | None) -> None:
        from ..io import to_jsonable

        c.execute(
            "INSERT INTO photos (session_id, sha256, view, original_path, managed_path, "
            "capture_date, checks, features, px_per_mm, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sid,
                sha,
                p.view,
                (
                    UPLOAD_PREFIX + uploaded_file_name(p.upload_name)
                    if p.upload_name is not None
                    else str(Path(p.path).absolute())
                ),
                managed,
                p.capture_date,
                json.dumps(to_jsonable(list(p.checks)), allow_nan=False),
                json.dumps(to_jsonable(p.features), allow_nan=False) if p.features else None,
                p.px_per_mm,
                now_utc(),
            ),
        )

    def _write_checks(self, c, updates: dict) -> None:
        """Store re-run checks (and re-measured features): ``{photo id: {"checks": [...],
        "features": {...} (optional)}}``."""
        from ..io import to_jsonable

        for pid, u in updates.items():
            c.execute(
                "UPDATE photos SET checks = ? WHERE id = ?",
                (json.dumps(to_jsonable(list(u["checks"])), allow_nan=False), pid),
            )
            if u.get("features") is not None:
                c.execute(
                    "UPDATE photos SET features = ? WHERE id = ?",
                    (json.dumps(to_jsonable(u["features"]), allow_nan=False), pid),
                )

    def _copy_in(self, src: str, sha: str) -> str:
        """Write ``src``'s pixels without identifying metadata (see
        :func:`mesovision.io.strip_metadata`) to ``photos/<sha>.<ext>`` after checking the
        original's hash ``sha`` (kept as the photo's identity); records the written file and its
        own SHA-256. Returns the path relative to the store."""
        import hashlib

        data = read_input_bytes(src)
        if hashlib.sha256(data).hexdigest() != sha:
            raise InputFileError("the file changed during the import", path=src)
        rel, clean = managed_copy(data, sha, src)
        self._write_new_file(rel, clean)
        record_photo_file(self.conn, rel, clean)
        return rel


def check_photo_scale(view: str, px_per_mm, *, path: str | None = None) -> None:
    """:class:`UsageError` (naming ``path``) for a scale outside the plausible range
    (:data:`mesovision.scale.PX_PER_MM_RANGE`), or a photo of a view that needs one
    (:func:`mesovision.views.needs_scale`) without it."""
    from ..scale import check_px_per_mm

    if px_per_mm is not None:
        check_px_per_mm(px_per_mm, "--px-per-mm")
    elif needs_scale(view):
        raise UsageError(
            f"a {view} photo needs its scale: give --px-per-mm (the file's pixels per mm)",
            path=path,
        )


def managed_copy(data: bytes, sha: str, src: str) -> tuple[str, bytes]:
    """The managed copy of an original file's bytes ``data`` (SHA-256 ``sha``, read from
    ``src``): ``(its path relative to the store, photos/<sha>.<ext>; its bytes, the pixels
    without identifying metadata, :func:`mesovision.io.strip_metadata`)``."""
    from ..io import strip_metadata

    clean, ext = strip_metadata(data, path=src)
    return f"{PHOTOS_DIR}/{sha}{ext}", clean


def record_photo_file(conn: sqlite3.Connection, rel: str, data: bytes) -> None:
    """Record the managed copy ``rel`` (bytes ``data``) in the ``files`` table of ``conn``."""
    import hashlib

    conn.execute(
        "INSERT OR REPLACE INTO files (path, kind, sha256, created) VALUES (?, 'photo', ?, ?)",
        (rel, hashlib.sha256(data).hexdigest(), now_utc()),
    )


def _sha256_of(path: str) -> str:
    from ..io import sha256_file

    return sha256_file(path)
