"""Where the commands write, as a clinic's IT person meets it (docs/cli.md, "Output folders";
docs/exit-codes.md): an output never replaces an input, one rule for missing folders, a file is
not a folder, ``--force`` does not mix two comparisons, ``check --json`` lists unreadable files,
and a store on a read-only folder is read, not called damaged."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest
from conftest import REPO, SAMPLES, run_cli

from mesovision.cli import main

CORPUS = REPO / "tests" / "bad_inputs"
BEFORE = CORPUS / "before.jpg"
AFTER = CORPUS / "orientation_6.jpg"  # the same face stored sideways


def _md5(p) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# --------------------------------------------------------------------------------------------
# An output never replaces an input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_compare_never_writes_over_its_own_before_photo(tmp_path, monkeypatch, capsys, force):
    shutil.copy(BEFORE, tmp_path / "before.png")  # a clinic's export named like compare's output
    shutil.copy(AFTER, tmp_path / "after.png")
    md5 = _md5(tmp_path / "before.png")
    monkeypatch.chdir(tmp_path)
    code = main(["compare", "before.png", "after.png", "-o", ".", "--report", *force])
    assert code == 2
    assert _err(capsys) == (
        "mesovision: error: before.png: is the before photo: choose another output folder"
    )
    assert _md5(tmp_path / "before.png") == md5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.png", "before.png"]


def test_compare_refuses_a_mask_as_output(tmp_path, capsys):
    shutil.copy(BEFORE, tmp_path / "result.json")  # any name compare writes
    code = main(["compare", str(BEFORE), str(AFTER), "-o", str(tmp_path), "--force",
                 "--mask", str(tmp_path / "result.json")])  # fmt: skip
    assert code == 2
    assert "result.json: is the mask: choose another output folder" in _err(capsys)


def test_export_never_writes_over_the_store_database(tmp_path, capsys):
    store = tmp_path / "clinic"
    assert main(["patient", "add", "P1", "--store", str(store)]) == 0
    db = store / "store.sqlite"
    md5 = _md5(db)
    capsys.readouterr()
    code = main(["export", "P1", "--csv", "-o", str(db), "--force", "--store", str(store)])
    assert code == 2
    assert _err(capsys) == (
        f"mesovision: error: {db}: is the store's database: choose another output folder"
    )
    assert _md5(db) == md5


def test_a_backup_inside_the_store_is_refused(tmp_path, capsys):
    store = tmp_path / "clinic"
    assert main(["patient", "add", "P1", "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["store", "backup", str(store / "bk"), "--store", str(store)]) == 2
    assert "bk: is inside the store folder: choose a folder outside it" in _err(capsys)
    assert sorted(p.name for p in store.iterdir()) == ["store.sqlite"]


# --------------------------------------------------------------------------------------------
# One rule for missing folders; a file is not a folder
# --------------------------------------------------------------------------------------------


def test_every_command_creates_only_the_last_folder_level(tmp_path, capsys):
    store = tmp_path / "clinic"
    assert main(["patient", "add", "P1", "--store", str(store)]) == 0
    capsys.readouterr()
    nodir = tmp_path / "nodir"
    cases = [
        (
            ["compare", str(BEFORE), str(AFTER), "-o", str(nodir / "deep")],
            "cannot create the folder",
        ),
        (["export", "P1", "--csv", "-o", str(nodir / "x.csv")], "cannot write: the folder"),
        (["report", "P1", "-o", str(nodir / "r.html")], "cannot write: the folder"),
        (["store", "backup", str(nodir / "bk")], "cannot create the folder"),
        (["align", str(BEFORE), str(AFTER), "-o", str(nodir / "deep")], "cannot create the"),
        (["batch", str(tmp_path / "m.csv"), "-o", str(nodir / "deep")], "cannot create the"),
    ]
    for argv, needle in cases:
        store_arg = ["--store", str(store)] if argv[0] in ("export", "report", "store") else []
        assert main([*argv, *store_arg]) == 10
        line = _err(capsys)
        assert needle in line and f"{nodir} does not exist" in line, line
    assert not nodir.exists()


@pytest.mark.parametrize("command", ["compare", "backup"])
def test_an_output_folder_inside_a_file_names_the_file_not_a_missing_folder(
    tmp_path, capsys, command
):
    store = tmp_path / "clinic"
    assert main(["patient", "add", "P1", "--store", str(store)]) == 0
    capsys.readouterr()
    f = tmp_path / "notadir"
    f.write_text("important\n")
    argv = {
        "compare": ["compare", str(BEFORE), str(AFTER), "-o", str(f / "out")],
        "backup": ["store", "backup", str(f / "out"), "--store", str(store)],
    }[command]
    assert main(argv) == 10
    assert _err(capsys) == (
        f"mesovision: error: {f / 'out'}: cannot create the folder: {f} is not a folder"
    )
    assert f.read_text() == "important\n"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_output_folder_that_is_a_broken_link_is_named_so(tmp_path, capsys, force):
    link = tmp_path / "results"
    link.symlink_to(tmp_path / "unplugged-drive" / "results")
    assert main(["compare", str(BEFORE), str(AFTER), "-o", str(link), *force]) == 10
    assert _err(capsys) == (
        f"mesovision: error: {link}: is a broken link: choose a folder for the outputs"
    )
    assert link.is_symlink() and not (tmp_path / "unplugged-drive").exists()


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_output_folder_that_is_a_file_is_exit_10(tmp_path, capsys, force):
    f = tmp_path / "notadir"
    f.write_text("important\n")
    assert main(["compare", str(BEFORE), str(AFTER), "-o", str(f), *force]) == 10
    assert _err(capsys) == (
        f"mesovision: error: {f}: is a file, not a folder: choose a folder for the outputs"
    )
    assert f.read_text() == "important\n"


# --------------------------------------------------------------------------------------------
# --force does not mix two comparisons
# --------------------------------------------------------------------------------------------


def test_compare_force_removes_only_the_earlier_compares_other_outputs(tmp_path):
    """--force replaces the outputs as a set: what an earlier compare wrote there (its marker
    lists it) and this run does not write is removed; a file of an output's name that compare
    did not write (a clinic's own before.png) is never removed."""
    out = tmp_path / "c_rep"
    out.mkdir()
    (out / "before.png").write_text("the clinic's own photo\n")
    (out / "notes.txt").write_text("mine\n")
    p = run_cli("compare", BEFORE, AFTER, "-o", out, "--max-side", "512", "--report", "--force")
    assert p.returncode == 0, p.stderr
    assert (out / "before.png").read_bytes()[:4] == b"\x89PNG"  # replaced, as --force asked
    p = run_cli("compare", BEFORE, AFTER, "-o", out, "--max-side", "512")
    assert p.returncode == 9 and "exists; use --force" in p.stderr, p.stderr
    p = run_cli("compare", BEFORE, AFTER, "-o", out, "--max-side", "512", "--force")
    assert p.returncode == 0, p.stderr
    left = sorted(q.name for q in out.iterdir())
    assert "report.html" not in left and "before.png" not in left, left  # the earlier run's
    assert (out / "notes.txt").read_text() == "mine\n"
    record = json.loads((out / "result.json").read_text())
    assert record["inputs"]["after"]["file"].endswith("orientation_6.jpg")
    # a folder of files compare did not write: with --force they are replaced if this run
    # writes them, and kept if not
    other = tmp_path / "other"
    other.mkdir()
    for n in ("before.png", "report.html", "result.json"):
        (other / n).write_text("not compare's\n")
    p = run_cli("compare", BEFORE, AFTER, "-o", other, "--max-side", "512", "--force")
    assert p.returncode == 0, p.stderr
    assert (other / "before.png").read_text() == "not compare's\n"
    assert (other / "report.html").read_text() == "not compare's\n"
    assert (other / "result.json").read_text() != "not compare's\n"


# --------------------------------------------------------------------------------------------
# check --json and unreadable files; session add's --view count
# --------------------------------------------------------------------------------------------


def test_check_json_lists_unreadable_files_and_counts_them(tmp_path, capsys):
    zero = tmp_path / "zero.jpg"
    zero.write_bytes(b"")
    missing = tmp_path / "nonexist.jpg"
    code = main(["check", str(zero), str(BEFORE), str(missing), "--json"])
    assert code == 4  # the first unreadable file's code wins (over 3 and 6)
    cap = capsys.readouterr()
    entries = json.loads(cap.out)
    assert [e["file"] for e in entries] == [str(zero), str(BEFORE), str(missing)]
    assert entries[0] == {"file": str(zero), "error": f"{zero}: zero bytes", "exit_code": 4}
    assert entries[2] == {"file": str(missing), "error": f"{missing}: no such file",
                          "exit_code": 3}  # fmt: skip
    assert "checks" in entries[1] and "error" not in entries[1]
    main(["check", str(zero), str(BEFORE), str(missing)])
    err = capsys.readouterr().err
    assert "mesovision check: 1 photo(s) checked, 2 unreadable" in err, err


def test_session_add_two_photos_without_view_does_not_count_the_default(tmp_path, capsys):
    code = main(["session", "add", "P1", "--date", "2026-03-09", "--photo", str(BEFORE),
                 "--photo", str(AFTER), "--store", str(tmp_path / "s")])  # fmt: skip
    assert code == 2
    line = _err(capsys)
    assert line.startswith("mesovision: error: 2 --photo and no --view: give --view once per"), line
    assert "1 --view" not in line
    assert not (tmp_path / "s").exists()


# --------------------------------------------------------------------------------------------
# A store on a read-only folder
# --------------------------------------------------------------------------------------------


@pytest.fixture
def readonly_store(tmp_path):
    """A store with a patient, made immutable (chattr +i: read-only even for root)."""
    store = tmp_path / "rostore"
    p = run_cli("patient", "add", "P001", "--name", "Zoë", "--store", store)
    assert p.returncode == 0, p.stderr
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", store], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs root and a file system with it)")
    try:
        yield store
    finally:
        subprocess.run([chattr, "-i", store], check=True)


def test_a_read_only_store_is_read_and_refuses_writes_with_exit_14(readonly_store):
    p = run_cli("patient", "list", "--store", readonly_store, "--json")
    assert p.returncode == 0, p.stderr
    assert [r["id"] for r in json.loads(p.stdout)] == ["P001"]
    p = run_cli("patient", "show", "P001", "--store", readonly_store)
    assert p.returncode == 0 and "P001" in p.stdout, p.stderr
    p = run_cli("store", "check", "--store", readonly_store)
    assert p.returncode == 0, p.stderr
    p = run_cli("patient", "add", "P002", "--store", readonly_store)
    assert p.returncode == 14, p.stderr
    assert p.stderr == (
        f"mesovision: error: {readonly_store}: the store folder is not writable (a read-only "
        "medium or share, or no permission); nothing was written\n"
    )
    assert sorted(q.name for q in readonly_store.iterdir()) == ["store.sqlite"]


def test_a_comparison_a_read_only_store_has_not_cached_stops_with_exit_14(readonly_store):
    """The course's comparison cannot be stored: progress stops with exit 14 (not a note per
    comparison and exit 0, as a refusal by the photos would be)."""
    from mesovision.store import PhotoImport, Store

    subprocess.run(["chattr", "-i", readonly_store], check=True)
    with Store(readonly_store) as st:
        for date, name in (("2026-01-05", "before.jpg"), ("2026-02-02", "after_treated.jpg")):
            photo = PhotoImport(str(SAMPLES / "astronaut" / name))
            st.import_session("P001", date=date, photos=[photo])
    subprocess.run(["chattr", "+i", readonly_store], check=True)
    p = run_cli("progress", "P001", "--store", readonly_store)
    assert p.returncode == 14, (p.stdout, p.stderr)
    assert "the store folder is not writable" in p.stderr and "not compared" not in p.stdout
