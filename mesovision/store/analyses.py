"""Cached analyses: a comparison's result and images, keyed by what produced them.

An analysis row holds the result of comparing two photos, keyed by ``cache_key`` (SHA-256 of the
two photos' content hashes, the settings and the mesovision version:
:func:`mesovision.course.cache_key`); its PNGs are written to
``analyses/<id>/`` in the same transaction, under the files ledger.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from .schema import ANALYSES_DIR, now_utc

__all__ = ["AnalysisRecords"]


class AnalysisRecords:
    """The cached analyses of :class:`~mesovision.store.Store` (a mixin)."""

    def analysis_dir(self, analysis_id: int) -> Path:
        return self.directory / ANALYSES_DIR / str(analysis_id)

    def find_analysis(self, cache_key: str) -> dict | None:
        r = self.conn.execute("SELECT * FROM analyses WHERE cache_key = ?", (cache_key,)).fetchone()
        return _analysis_dict(r) if r else None

    def add_analysis(
        self,
        *,
        kind: str,
        photo_ids: Sequence[int],
        cache_key: str,
        settings: dict,
        result: dict,
        version: str,
        images: dict | None = None,
        replace: bool = False,
        older_keys: Sequence[str] = (),
    ) -> dict:
        """Record an analysis and write ``images`` (``{png name: array}``) to
        ``analyses/<id>/`` in the same transaction. If another process stored the same
        ``cache_key`` meanwhile, its row is returned and nothing is written (unless
        ``replace``; a row stored under one of ``older_keys``, an earlier key of the same
        comparison, is replaced too). A photo of ``photo_ids`` removed while the analysis was
        computed (``session remove``, ``patient remove`` by another process) refuses it
        (:class:`~mesovision.errors.UsageError`, nothing stored): a removal is never undone by a
        comparison that started before it."""
        from ..io import to_jsonable, write_png

        with self.write() as c:
            gone = _removed_photos(c, photo_ids)
            if gone:
                raise UsageError(
                    f"comparison not stored: photo(s) {', '.join(map(str, gone))} removed from "
                    "the store (session remove or patient remove) while it was computed"
                )
            old = c.execute("SELECT * FROM analyses WHERE cache_key = ?", (cache_key,)).fetchone()
            if old is not None and not replace:
                return _analysis_dict(old)
            if replace:  # its folder goes in the cleanup of the next write
                for key in (cache_key, *older_keys):
                    c.execute("DELETE FROM analyses WHERE cache_key = ?", (key,))
            cur = c.execute(
                "INSERT INTO analyses (kind, photo_ids, cache_key, settings, result, version, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    json.dumps(list(photo_ids)),
                    cache_key,
                    json.dumps(to_jsonable(settings), allow_nan=False),
                    json.dumps(to_jsonable(result), allow_nan=False),
                    version,
                    now_utc(),
                ),
            )
            aid = cur.lastrowid
            if images:
                root = self.directory / ANALYSES_DIR
                rel = f"{ANALYSES_DIR}/{aid}"
                tmp = root / f".tmp-{aid}"
                self._note_pending(f"{ANALYSES_DIR}/{tmp.name}", rel)
                root.mkdir(mode=0o700, exist_ok=True)
                tmp.mkdir(mode=0o700)
                try:
                    for name, img in images.items():
                        write_png(tmp / name, img)
                    os.replace(tmp, self.analysis_dir(aid))
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                c.execute(
                    "INSERT OR REPLACE INTO files (path, kind, sha256, created) "
                    "VALUES (?, 'analysis', NULL, ?)",
                    (rel, now_utc()),
                )
            r = c.execute("SELECT * FROM analyses WHERE id = ?", (aid,)).fetchone()
            return _analysis_dict(r)


def _removed_photos(c: sqlite3.Connection, photo_ids: Sequence[int]) -> list[int]:
    """The ids of ``photo_ids`` that no photo row has (ids are never reused)."""
    return [
        i
        for i in photo_ids
        if c.execute("SELECT 1 FROM photos WHERE id = ?", (int(i),)).fetchone() is None
    ]


def _analysis_dict(r: sqlite3.Row) -> dict:
    d = dict(r)
    for k in ("photo_ids", "settings", "result"):
        d[k] = json.loads(d[k])
    return d
