"""Patients, sessions and the log of course edits.

A patient has a pseudonymous id; a session has a date, the treated regions, product and notes,
and its photos (:mod:`mesovision.store.photos`). The first session by date (then id) is the
baseline every later session is compared with: an edit or a new session that would move it needs
``rebaseline`` (:meth:`CourseRecords.rebaseline_note`). Edits and removals are single
transactions recorded in the ``changes`` table with the old and new values; a removal drops the
cached analyses that use the removed photos, and the write that follows removes their files.

The log of changes keeps what an edit replaced (old notes, dates, a removed session's date and
photo hashes) for as long as the patient is in the store: removing the patient erases every row
of theirs, and what stays of the removal is one ``patient remove`` row without the patient's id
(the time and the counts removed). After a removal the write-ahead log is checkpointed and
truncated, so that, with ``secure_delete`` (:func:`~mesovision.store.schema.connect`), no
removed value is left in ``store.sqlite`` or ``store.sqlite-wal``.
"""

from __future__ import annotations

import datetime
import json
import logging
import sqlite3
from collections.abc import Sequence

from ..errors import UnknownPatient, UsageError
from ..views import validate_view
from .photos import check_photo_scale
from .schema import DB_NAME, now_utc, validate_date

__all__ = ["CourseRecords"]

log = logging.getLogger(__name__)


def _check_ipd(ipd_mm) -> None:
    from ..scale import check_ipd_mm

    check_ipd_mm(ipd_mm)


class CourseRecords:
    """The patients, sessions and changes of :class:`~mesovision.store.Store` (a mixin)."""

    def _log_change(self, c, action: str, patient_id, session_id, detail: dict) -> None:
        c.execute(
            "INSERT INTO changes (time, action, patient_id, session_id, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (now_utc(), action, patient_id, session_id, json.dumps(detail)),
        )

    def changes(self) -> list[dict]:
        """The log of course edits (removals and edits), oldest first."""
        rows = self.conn.execute("SELECT * FROM changes ORDER BY id").fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def patient_removals(self, after: int = 0) -> tuple[int, str | None]:
        """The patient removals of the log of changes after its entry ``after``: ``(the last
        one's entry, the time of the first)``; ``(after, None)`` when there is none."""
        sql = "SELECT max(id), min(time) FROM changes WHERE action = 'patient remove' AND id > ?"
        last, first = self.conn.execute(sql, (after,)).fetchone()
        return (after if last is None else last), first

    def _truncate_wal(self) -> None:
        """Copy the write-ahead log into the database and empty it (``wal_checkpoint(TRUNCATE)``):
        the log's older frames still hold the rows a removal just deleted (``secure_delete``
        zeroes them in the new frames and, once checkpointed, in the database file). A reader
        of another process in the middle of a transaction keeps the log (a warning): the next
        checkpoint (SQLite's own, or the next removal) empties it."""
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning(
                "%s-wal: another process is reading the store: this write-ahead log keeps the "
                "removed rows until the next checkpoint",
                self.directory / DB_NAME,
            )

    # -- patients ------------------------------------------------------------------------------

    def add_patient(
        self,
        patient_id: str,
        *,
        name: str | None = None,
        birth_year: int | None = None,
        ipd_mm: float | None = None,
    ) -> dict:
        """Add a patient (``patient_id`` pseudonymous: letters, digits, ``-``, ``_``, ``.``; not
        dots only, which an address reads as the folder or its parent), with the interpupillary
        distance ``ipd_mm`` when known (:meth:`set_patient_ipd`)."""
        if (
            not patient_id
            or len(patient_id) > 64
            or not all(c.isalnum() or c in "-_." for c in patient_id)
            or not patient_id.strip(".")
        ):
            raise UsageError(
                f"patient id {patient_id!r} must be 1-64 letters, digits, '-', '_' or '.' "
                "(not dots only)"
            )
        this_year = datetime.date.today().year
        if birth_year is not None and not 1900 <= birth_year <= this_year:
            raise UsageError(f"birth year {birth_year} is not between 1900 and {this_year}")
        if ipd_mm is not None:
            _check_ipd(ipd_mm)
        with self.write() as c:
            if c.execute("SELECT 1 FROM patients WHERE id = ?", (patient_id,)).fetchone():
                raise UsageError(f"patient {patient_id} already exists")
            c.execute(
                "INSERT INTO patients (id, name, birth_year, created, ipd_mm) "
                "VALUES (?, ?, ?, ?, ?)",
                (patient_id, name, birth_year, now_utc(), ipd_mm),
            )
        return self.patient(patient_id)

    def set_patient_ipd(self, patient_id: str, ipd_mm: float | None) -> dict:
        """Set (``None``: clear) the patient's interpupillary distance in mm (40-80, as
        ``compare --ipd-mm`` takes it), in one transaction recorded in ``changes`` (``patient
        edit``, with the old and new values). A new value drops the cached analyses of the
        patient's front photos (computed at the old scale). Returns the patient row."""
        old = self.patient(patient_id)
        if ipd_mm is not None:
            _check_ipd(ipd_mm)
            ipd_mm = float(ipd_mm)
        if ipd_mm == old["ipd_mm"]:
            return old
        front = "view = 'front' AND session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
        with self.write() as c:
            c.execute("UPDATE patients SET ipd_mm = ? WHERE id = ?", (ipd_mm, patient_id))
            self._drop_analyses_of(c, front, (patient_id,))
            detail = {"old": {"ipd_mm": old["ipd_mm"]}, "new": {"ipd_mm": ipd_mm}}
            self._log_change(c, "patient edit", patient_id, None, detail)
        return self.patient(patient_id)

    def patients(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT p.*, (SELECT count(*) FROM sessions s WHERE s.patient_id = p.id) AS n_sessions "
            "FROM patients p ORDER BY p.id"
        ).fetchall()
        return [dict(r) for r in rows]

    def patient(self, patient_id: str) -> dict:
        """The patient row, or :class:`~mesovision.errors.UnknownPatient` naming the id."""
        r = self.conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        if r is None:
            raise UnknownPatient(
                f"unknown patient {patient_id!r}", hint="see: mesovision patient list"
            )
        return dict(r)

    def _session_dict(self, c: sqlite3.Connection, r: sqlite3.Row) -> dict:
        d = dict(r)
        d["treated"] = json.loads(d["treated"])
        d["photos"] = [
            self._photo_dict(p)
            for p in c.execute("SELECT * FROM photos WHERE session_id = ? ORDER BY id", (d["id"],))
        ]
        return d

    def sessions(self, patient_id: str) -> list[dict]:
        """The patient's sessions ordered by date (then id), each with its ``photos``."""
        with self.read() as c:
            self.patient(patient_id)
            return self._course_sessions(c, patient_id)

    def _course_sessions(self, c: sqlite3.Connection, patient_id: str) -> list[dict]:
        rows = c.execute(
            "SELECT * FROM sessions WHERE patient_id = ? ORDER BY date, id", (patient_id,)
        ).fetchall()
        return [self._session_dict(c, r) for r in rows]

    def sessions_on(self, patient_id: str, date: str) -> list[int]:
        """The ids of the patient's sessions dated ``date``."""
        rows = self.conn.execute(
            "SELECT id FROM sessions WHERE patient_id = ? AND date = ? ORDER BY id",
            (patient_id, date),
        )
        return [r[0] for r in rows]

    def _apply_recheck(self, c, patient_id: str, recheck) -> dict:
        """Inside a write transaction: ``recheck(the patient's sessions as they now are)``
        gives ``{photo id: {"checks": [...], "features": {...} (optional)}}`` (it may raise:
        the transaction is rolled back), written to the photos; returns, for the log of
        changes, each rewritten photo's failed checks."""
        if recheck is None:
            return {}
        updates = recheck(self._course_sessions(c, patient_id))
        self._write_checks(c, updates)
        return {
            str(pid): [ch["name"] for ch in u["checks"] if not ch["ok"]]
            for pid, u in sorted(updates.items())
        }

    def session(self, session_id: int) -> dict:
        """One session with its photos, or :class:`UsageError` naming the id."""
        with self.read() as c:
            r = c.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if r is None:
                raise UsageError(f"unknown session {session_id}")
            return self._session_dict(c, r)

    # -- course edits --------------------------------------------------------------------------

    def _drop_analyses_of(self, c, photo_where: str, args: tuple) -> int:
        """Delete the cached analyses that use a photo matching ``photo_where`` (their folders
        are removed by the cleanup)."""
        cur = c.execute(
            "DELETE FROM analyses WHERE EXISTS (SELECT 1 FROM json_each(analyses.photo_ids) j "
            f"WHERE j.value IN (SELECT id FROM photos WHERE {photo_where}))",
            args,
        )
        return cur.rowcount

    def baseline_date(self, patient_id: str) -> str | None:
        r = self.conn.execute(
            "SELECT min(date) FROM sessions WHERE patient_id = ?", (patient_id,)
        ).fetchone()
        return r[0]

    def rebaseline_note(
        self, patient_id: str, date: str, *, rebaseline: bool, session_id: int | None = None
    ) -> str | None:
        """``None`` if dating session ``session_id`` (or, when ``None``, a new session) on
        ``date`` leaves the patient's baseline (first session by date, then id) where it is;
        else, with ``rebaseline``, a sentence saying what changes, and without it
        :class:`UsageError` with that sentence."""
        new_id = 1 << 62  # a new session's id sorts last
        rows = [
            (r["date"], r["id"])
            for r in self.conn.execute(
                "SELECT date, id FROM sessions WHERE patient_id = ?", (patient_id,)
            )
        ]
        if not rows or (len(rows) == 1 and session_id is not None):
            return None
        current = min(rows)
        moved = [(date if i == session_id else d, i) for d, i in rows]
        new = min(moved + ([(date, new_id)] if session_id is None else []))
        if new[1] == current[1]:
            return None
        to = "this session" if new[1] in (new_id, session_id) else f"session {new[1]}"
        note = (
            f"the baseline changes from session {current[1]} of {current[0]} to {to} of "
            f"{new[0]}: every later session is then compared with it"
        )
        if not rebaseline:
            raise UsageError(f"{note}; give --rebaseline to accept that")
        return note

    def remove_session(self, session_id: int, *, recheck=None) -> dict:
        """Remove a session, its photos (and their managed copies) and the cached analyses that
        use them, in one transaction recorded in ``changes``. ``recheck`` (see
        :meth:`edit_session`) re-runs the checks of the photos whose baseline the removal
        changed. Returns the removed session."""
        old = self.session(session_id)
        with self.write() as c:
            n = self._drop_analyses_of(c, "session_id = ?", (session_id,))
            c.execute("DELETE FROM photos WHERE session_id = ?", (session_id,))
            c.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            detail = {
                "date": old["date"],
                "photos": [p["sha256"] for p in old["photos"]],
                "photo_ids": [p["id"] for p in old["photos"]],
                "analyses_dropped": n,
            }
            rechecked = self._apply_recheck(c, old["patient_id"], recheck)
            if rechecked:
                detail["rechecked"] = rechecked
            self._log_change(c, "session remove", old["patient_id"], session_id, detail)
        with self.write():  # removes the copies the commit released
            pass
        self._truncate_wal()
        return old

    def edit_session(
        self,
        session_id: int,
        *,
        date: str | None = None,
        view: str | None = None,
        photo_id: int | None = None,
        treated: Sequence[str] | None = None,
        product: str | None = None,
        notes: str | None = None,
        px_per_mm: float | str | None = None,
        rebaseline: bool = False,
        recheck=None,
    ) -> dict:
        """Change a session's date, treated regions, product or notes, or a photo's view or
        scale (``px_per_mm``, ``""`` clears it; ``photo_id``, needed when the session has
        several photos; a new scale drops the photo's cached analyses), in one transaction recorded
        in ``changes`` with the old and new values. ``None`` leaves a field as it is; an empty
        ``treated`` (``()``) clears the treated regions, and an empty ``product`` or ``notes``
        (``""``) clears it (stored as NULL, as for a session filed without one). A date before
        the baseline needs ``rebaseline`` (see :meth:`rebaseline_note`). A new view drops the
        photo's cached analyses. ``recheck(sessions)`` (:mod:`mesovision.course` gives it) is
        called in the same transaction with the patient's sessions as the edit leaves them, and
        returns the photos' checks to store (``{photo id: {"checks": [...], "features": {...}
        (optional)}}``, recorded in ``changes`` as ``rechecked``: each photo's failed checks);
        it may raise to refuse the edit (nothing changes). Returns the session as
        :meth:`session`."""
        old = self.session(session_id)
        new: dict = {}
        if date is not None:
            new["date"] = validate_date(date)
            self.rebaseline_note(
                old["patient_id"], date, rebaseline=rebaseline, session_id=session_id
            )
        if treated is not None:
            new["treated"] = list(treated)
        if product is not None:
            new["product"] = product or None
        if notes is not None:
            new["notes"] = notes or None
        photo = None
        if view is not None or px_per_mm is not None:
            if view is not None:
                validate_view(view)
            photo = self._edited_photo(old, photo_id)
            photo_id = photo["id"]
            scale = photo["px_per_mm"] if px_per_mm is None else (px_per_mm or None)
            check_photo_scale(view or photo["view"], scale, path=photo["file_name"])
        if not new and photo is None:
            raise UsageError(
                "nothing to change: give --date, --view, --px-per-mm, --treated, --product or "
                "--notes"
            )
        with self.write() as c:
            if new:
                sets = ", ".join(f"{k} = ?" for k in new)
                values = [json.dumps(v) if k == "treated" else v for k, v in new.items()]
                c.execute(f"UPDATE sessions SET {sets} WHERE id = ?", (*values, session_id))
            if photo is not None and view is not None and view != photo["view"]:
                if any(p["view"] == view for p in old["photos"]):
                    raise UsageError(f"session {session_id} already has a {view} photo")
                self._drop_analyses_of(c, "id = ?", (photo_id,))
                c.execute("UPDATE photos SET view = ? WHERE id = ?", (view, photo_id))
                new["view"] = {"photo": photo_id, "from": photo["view"], "to": view}
            if px_per_mm is not None and (px_per_mm or None) != photo["px_per_mm"]:
                self._drop_analyses_of(c, "id = ?", (photo_id,))
                c.execute("UPDATE photos SET px_per_mm = ? WHERE id = ?", (scale, photo_id))
                new["px_per_mm"] = {"photo": photo_id, "from": photo["px_per_mm"], "to": scale}
            before = {k: old[k] for k in ("date", "treated", "product", "notes") if k in new}
            detail = {"old": before, "new": new}
            rechecked = self._apply_recheck(c, old["patient_id"], recheck)
            if rechecked:
                detail["rechecked"] = rechecked
            self._log_change(c, "session edit", old["patient_id"], session_id, detail)
        return self.session(session_id)

    def _edited_photo(self, session: dict, photo_id: int | None) -> dict:
        """The photo of ``session`` an edit of a view or scale changes: ``photo_id``, or the
        session's only photo; :class:`UsageError` when it is not one of the session's."""
        ids = [p["id"] for p in session["photos"]]
        if photo_id is None and len(ids) == 1:
            photo_id = ids[0]
        if photo_id not in ids:
            raise UsageError(
                f"session {session['id']} has photos {', '.join(map(str, ids))}: name the one "
                "whose view or scale changes with --photo ID"
            )
        return next(p for p in session["photos"] if p["id"] == photo_id)

    def remove_patient(self, patient_id: str) -> dict:
        """Remove a patient with all sessions, photos, managed copies and cached analyses, and
        erase their rows of the log of changes (old notes of ``session edit``, dates and photo
        hashes of ``session remove``), in one transaction. What stays in ``changes`` is one
        ``patient remove`` row without the patient's id (``patient_id`` null): the time and, as
        ``detail``, the counts returned: ``sessions``, ``photos``, ``analyses`` and ``changes``
        (the log rows erased). The write-ahead log is then emptied (:meth:`_truncate_wal`)."""
        self.patient(patient_id)
        where = "session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
        with self.write() as c:
            n_an = self._drop_analyses_of(c, where, (patient_id,))
            n_ph = c.execute(f"DELETE FROM photos WHERE {where}", (patient_id,)).rowcount
            n_se = c.execute("DELETE FROM sessions WHERE patient_id = ?", (patient_id,)).rowcount
            c.execute("DELETE FROM patients WHERE id = ?", (patient_id,))
            n_ch = c.execute("DELETE FROM changes WHERE patient_id = ?", (patient_id,)).rowcount
            counts = {"sessions": n_se, "photos": n_ph, "analyses": n_an, "changes": n_ch}
            self._log_change(c, "patient remove", None, None, counts)
        with self.write():  # removes the copies the commit released
            pass
        self._truncate_wal()
        return counts
