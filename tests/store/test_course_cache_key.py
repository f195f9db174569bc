"""A cached comparison is keyed by the photos' content (the SHA-256 of the files imported), not by
the file read: a backup turns a photo filed without --copy into a managed copy (metadata
stripped, another SHA-256), and the restored store reuses the comparison. Comparisons cached
under the key of the file read (stores of 0.2.0.dev) are found too. The comparison itself is
replaced by a counting stand-in: what is tested is how often it is computed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mesovision.course import cache
from mesovision.store import PhotoImport, Store, restore_store


def _jpeg_with_exif(path, seed: int):
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x013B] = "Dr. Example"  # Artist: stripped from a managed copy
    Image.fromarray(rgb).save(path, quality=90, exif=exif)
    return str(path)


@pytest.fixture
def computed(monkeypatch):
    """The comparisons computed (photo id pairs): ``cache._compute`` stores a stand-in result
    with every image a face comparison has, as the real one does."""
    from mesovision.compare import output_names

    calls = []

    def fake(store, before, after, settings, key, *, replace, older=None):
        calls.append((before["id"], after["id"]))
        names = ["before.png"] + [n for n in output_names("face") if n.endswith(".png")]
        names.remove("normalized_after.png")  # no lighting fit in this stand-in
        row = store.add_analysis(
            kind="compare",
            photo_ids=[before["id"], after["id"]],
            cache_key=key,
            settings=settings,
            result={"lighting": None, "pair": [before["original_sha256"], after["sha256"]]},
            version="test",
            images={n: np.zeros((4, 4, 3)) for n in names},
            replace=replace is not None,
            older_keys=(older,) if older else (),
        )
        return {**row, "images": cache.image_paths(store, row) or {}}

    monkeypatch.setattr(cache, "_compute", fake)
    return calls


def _course(st: Store) -> tuple[dict, dict]:
    s1, s2 = (s["photos"][0] for s in st.sessions("P1"))
    return s1, s2


def _compare(st: Store) -> dict:
    before, after = _course(st)
    return cache.stored_comparison(st, before, after, view="front", treated=[])


@pytest.mark.parametrize("copy", [False, True])
def test_a_restored_backup_reuses_the_cached_comparisons(tmp_path, computed, copy):
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        for i, date in enumerate(("2026-01-05", "2026-02-02")):
            photo = PhotoImport(_jpeg_with_exif(tmp_path / f"{i}.jpg", i))
            st.import_session("P1", date=date, photos=[photo], copy=copy)
        first = _compare(st)
        assert computed == [(1, 2)]
        assert _compare(st)["id"] == first["id"] and len(computed) == 1  # cached
        st.backup(tmp_path / "bk")
    restore_store(tmp_path / "bk", tmp_path / "restored")
    with Store(tmp_path / "restored") as st:
        before, after = _course(st)
        assert before["managed_path"] and after["managed_path"]  # the backup's copies
        # the copy read (metadata stripped) has another SHA-256 than the file filed
        assert before["sha256"] != before["original_sha256"]
        again = _compare(st)
        assert len(computed) == 1  # not computed again
        assert again["id"] == first["id"] and again["result"] == first["result"]
        assert st.conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == 1


def test_a_comparison_cached_under_the_file_key_is_reused_then_replaced(
    tmp_path, computed, monkeypatch
):
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        for i, date in enumerate(("2026-01-05", "2026-02-02")):
            photo = PhotoImport(_jpeg_with_exif(tmp_path / f"{i}.jpg", i))
            st.import_session("P1", date=date, photos=[photo], copy=True)
        before, after = _course(st)
        settings = cache.comparison_settings("front", [])
        key, older = cache.comparison_keys(before, after, settings)
        assert older == cache.cache_key(before["sha256"], after["sha256"], settings) != key
        # a comparison stored by 0.2.0.dev: under the hashes of the managed copies read
        with monkeypatch.context() as m:
            m.setattr(cache, "comparison_keys", lambda b, a, s: (older, None))
            old = _compare(st)
        assert old["cache_key"] == older and len(computed) == 1
        assert _compare(st)["id"] == old["id"] and len(computed) == 1  # found, not recomputed
        # its images gone: computed again under the content key, the old row replaced
        for png in st.analysis_dir(old["id"]).iterdir():
            png.unlink()
        new = _compare(st)
        assert len(computed) == 2 and new["cache_key"] == key
        keys = [r[0] for r in st.conn.execute("SELECT cache_key FROM analyses")]
        assert keys == [key]
