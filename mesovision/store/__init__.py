"""The local store of treatment courses: patients, sessions, photos and cached analyses.

Everything lives in one folder the user names (``--store DIR``, else the environment variable
``MESOVISION_STORE``); patient data never leaves it::

    DIR/
      store.sqlite            SQLite database (WAL mode: also store.sqlite-wal, store.sqlite-shm)
      photos/<sha256>.<ext>   managed copies of imported photos (``session add --copy``)
      analyses/<id>/          the PNGs of one cached comparison (see :mod:`mesovision.course`)

Tables (schema version :data:`SCHEMA_VERSION`, see :data:`MIGRATIONS`):

* ``patients``: ``id`` (pseudonymous text id, unique), ``name`` and ``birth_year`` (optional),
  ``created`` (UTC ISO 8601), ``ipd_mm`` (schema 6: the interpupillary distance in mm, 40-80,
  ``patient add --ipd-mm``, ``patient edit --ipd-mm``, or null; the scale of the front view's
  comparisons when its reference photo has no ``px_per_mm``, :mod:`mesovision.course`).
* ``sessions``: ``id`` (never reused: ``AUTOINCREMENT`` since schema 4), ``patient_id``, ``date``
  (``YYYY-MM-DD``), ``treated`` (JSON list of treated areas: face region names, and names of
  body, scalp or trichoscopy views whose ``area`` was treated,
  :func:`mesovision.views.view_treated`), ``product``, ``notes``, ``created``.
* ``photos``: ``id`` (never reused), ``session_id``, ``sha256`` (of the file's bytes; unique:
  the same photo is never imported twice), ``view`` (``front``, ``left-45``, ``right-45``,
  ``body:<area>``, ``scalp:<area>`` or ``trichoscopy:<area>``; one photo per view and
  session), ``original_path`` (where the photo came from: the absolute path of the file
  filed, or for a photo uploaded through the clinic app
  :data:`UPLOAD_PREFIX` and the file name the browser sent, ``upload:IMG 1234.jpg``, see
  :func:`~mesovision.store.photos.uploaded_file_name`: no path on this machine, and never read),
  ``managed_path`` (relative to ``DIR``, or null; always set for an upload; the copy carries no
  identifying metadata, see :func:`mesovision.io.strip_metadata`), ``capture_date`` (EXIF, ISO
  8601, or null), ``checks`` (JSON list of capture-check dicts, :mod:`mesovision.checks`, and
  of a face photo after the baseline its ``same_person`` check with the face-descriptor
  distance, :mod:`mesovision.course`),
  ``features`` (JSON capture features, the baseline of later checks; face photos filed since
  the descriptor check also carry ``face_descriptor``, :mod:`mesovision.identity`), ``created``,
  ``px_per_mm`` (schema 5: the file's pixels per mm as given, ``session add --px-per-mm``, or
  null; a ``trichoscopy:`` photo always has one; a comparison takes its reference photo's).
* ``analyses``: ``id``, ``kind`` (``compare``, or ``refused``: a comparison the photos refuse,
  its ``result`` the error, :mod:`mesovision.course`), ``photo_ids`` (JSON ``[before, after]``),
  ``cache_key`` (unique: SHA-256 of the two photos' ``sha256`` (their content, whichever
  file is read: a backup's managed copy of an original keeps its cached comparisons), the
  settings and the mesovision version, :func:`mesovision.course.cache_key`), ``settings``,
  ``result`` (JSON), ``version``, ``created``.
* ``files``: every file or folder the store wrote under ``photos/`` and ``analyses/``: ``path``
  (relative to ``DIR``), ``kind`` (``photo`` or ``analysis``), ``sha256`` (of the bytes written,
  for a photo), ``created``. A store of schema 2 records, on migration, the files its rows refer
  to.
* ``changes``: the log of course edits (``session edit``, ``session remove``, ``patient
  remove``): ``time`` (UTC), ``action``, ``patient_id``, ``session_id``, ``detail`` (JSON: old
  and new values, or what was removed; ``rechecked``: the photos whose checks the change re-ran,
  :mod:`mesovision.course.rechecks`, each with its failed checks). Removing a patient erases
  their rows; its own row has no ``patient_id`` and holds only the counts removed.

Safety:

* **Migrations** are an ordered list of SQL steps; ``PRAGMA user_version`` is the number applied.
  Opening a store applies the missing ones in one ``BEGIN IMMEDIATE`` transaction, after keeping
  a copy of its database in ``.pre-migration-<schema>-<UTC time>/`` (:data:`PRE_MIGRATION`); a
  store opened with ``upgrade="read"`` (the commands that only read) is read through a copy
  upgraded in memory and left as it is (:data:`UPGRADES`); a store newer than this code is
  refused.
* **Concurrency**: WAL journal (readers never block the writer), ``busy_timeout`` (a writer
  waits for the other instead of failing) and ``BEGIN IMMEDIATE`` for every write transaction.
* **Crashes**: one transaction per import (the session and all its photos, or nothing). Managed
  copies and analysis folders are written (temporary name, fsync, rename) while the write lock is
  held, before the commit, after their names were appended (fsync-ed) to ``store.pending``; a
  crash before the commit leaves files listed there and in no ``files`` row, which the next
  write transaction deletes (it holds the lock, so no other writer can be half-way).
* **Only its own files**: cleanup deletes only what ``files`` or ``store.pending`` lists (copies
  of removed photos, folders of removed analyses, leftovers of a crash), never follows a
  symbolic link (a link is removed, not its target), and refuses to write
  (:class:`~mesovision.errors.StoreError`, exit 12, naming one) while ``photos/`` or
  ``analyses/`` holds anything else or is itself a link.
* **Erasure**: every connection sets ``secure_delete`` (deleted rows are overwritten with
  zeros), and a removal truncates the write-ahead log after a checkpoint: a removed patient's
  name, notes and photo records stay neither in ``store.sqlite`` nor in ``store.sqlite-wal``
  (:meth:`Store.remove_patient`).
* **A lost database is not recreated**: a missing or empty ``store.sqlite`` beside ``photos/``
  or ``analyses/``, or one that fails ``PRAGMA quick_check`` (checked on every open) or is not
  a store, is refused with :class:`~mesovision.errors.StoreError` (exit 12); nothing is written.
* ``store check`` (:meth:`Store.integrity_problems`: also the original files of photos filed
  from the command line without a managed copy) and ``store backup`` (:meth:`Store.backup`,
  SQLite's online backup API plus the recorded files and, as managed copies, the originals,
  under the write lock). An uploaded photo has no original file to read: its managed copy is
  checked and backed up, and an upload without one is a problem.

Modules: :mod:`~mesovision.store.schema` (the database, its migrations and connection),
:mod:`~mesovision.store.core` (:class:`Store`: opening and transactions),
:mod:`~mesovision.store.ledger` (the files ledger and cleanup),
:mod:`~mesovision.store.courses` (patients, sessions, changes),
:mod:`~mesovision.store.photos` (importing photos), :mod:`~mesovision.store.analyses` (cached
analyses), :mod:`~mesovision.store.upkeep` (check and backup) and
:mod:`~mesovision.store.restore` (restoring a backup). Every public name is importable
from ``mesovision.store``; the photo views live in :mod:`mesovision.views`.
"""

from __future__ import annotations

from ..views import FACE_VIEWS, validate_view
from .core import PRE_MIGRATION, UPGRADES, Store, open_store
from .photos import (
    MAX_UPLOAD_NAME,
    UPLOAD_PREFIX,
    PhotoImport,
    check_photo_scale,
    photo_file_name,
    uploaded_file_name,
)
from .restore import restore_store
from .schema import (
    ANALYSES_DIR,
    BUSY_TIMEOUT_MS,
    DB_NAME,
    MIGRATIONS,
    PENDING_NAME,
    PHOTOS_DIR,
    SCHEMA_VERSION,
    STORE_ENV,
    connect,
    migrate,
    resolve_store_dir,
    validate_date,
)

__all__ = [
    "ANALYSES_DIR",
    "BUSY_TIMEOUT_MS",
    "DB_NAME",
    "FACE_VIEWS",
    "MAX_UPLOAD_NAME",
    "MIGRATIONS",
    "PENDING_NAME",
    "PHOTOS_DIR",
    "PRE_MIGRATION",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "UPGRADES",
    "UPLOAD_PREFIX",
    "PhotoImport",
    "Store",
    "check_photo_scale",
    "connect",
    "migrate",
    "open_store",
    "photo_file_name",
    "resolve_store_dir",
    "restore_store",
    "uploaded_file_name",
    "validate_date",
    "validate_view",
]
