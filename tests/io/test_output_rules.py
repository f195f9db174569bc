"""The rules every output folder follows (docs/cli.md, "Output folders"): no output replaces an
input, --force or not; a file is never an output folder; --force replaces a command's outputs as
a set; a failed write names the output, not the staging folder. (Only the last level of a
missing folder is created: a rule of the commands, tests/cli/test_cli_outputs.py.)"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import mesovision.io as mio
from mesovision.errors import OutputError, OutputExists, UsageError


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("force", [False, True])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, force):
    photo = tmp_path / "before.png"
    photo.write_bytes(b"the patient's original photo")
    link = tmp_path / "elsewhere" / "after.png"
    link.parent.mkdir()
    os.link(photo, link)  # the same file under another name
    for inputs, what in (
        ({"the before photo": photo}, "the before photo"),
        ({"the after photo": tmp_path / "x" / ".." / "before.png"}, "the after photo"),
        ({"the mask": None, "the after photo": link}, "the after photo"),
    ):
        with (
            pytest.raises(UsageError) as info,
            mio.output_folder(tmp_path, ["result.json", "before.png"], force=force, inputs=inputs),
        ):
            pytest.fail("the block must not run")
        assert str(info.value) == f"{photo}: is {what}: choose another output folder"
        assert info.value.exit_code == 2
    assert photo.read_bytes() == b"the patient's original photo"
    assert _tree(tmp_path) == ["before.png", "elsewhere", "elsewhere/after.png"]


def test_outputs_beside_the_inputs_are_allowed(tmp_path):
    (tmp_path / "before.png").write_bytes(b"photo")
    out = mio.prepare_output_dir(
        tmp_path, ["result.json"], inputs={"the before photo": tmp_path / "before.png"}
    )
    assert out == tmp_path


@pytest.mark.parametrize("force", [False, True])
def test_a_file_is_not_an_output_folder(tmp_path, force):
    f = tmp_path / "notadir"
    f.write_text("important")
    with pytest.raises(OutputError) as info, mio.output_folder(f, ["r.json"], force=force):
        pytest.fail("the block must not run")
    assert info.value.exit_code == 10
    assert str(info.value) == f"{f}: is a file, not a folder: choose a folder for the outputs"
    assert f.read_text() == "important"


def _stale(out, names):
    out.mkdir(exist_ok=True)
    for n in names:
        (out / n).write_text("earlier run")


def test_force_replaces_the_outputs_as_a_set(tmp_path):
    out = tmp_path / "out"
    every = ["result.json", "a.png", "report.html", "before.png"]
    _stale(out, every + ["notes.txt"])
    (out / "sub").mkdir()
    with mio.output_folder(out, ["result.json", "a.png"], force=True, replaces=every) as staging:
        mio.write_json(staging / "result.json", {"new": 1})
        mio.write_png(staging / "a.png", np.zeros((2, 2), bool))
    # the earlier run's report and its before.png are gone; what is not an output stays
    assert _tree(out) == ["a.png", "notes.txt", "result.json", "sub"]
    assert (out / "notes.txt").read_text() == "earlier run"
    assert (out / "result.json").read_text() != "earlier run"


def test_without_force_an_earlier_output_of_any_option_is_refused(tmp_path):
    out = tmp_path / "out"
    _stale(out, ["report.html"])
    every = ["result.json", "report.html"]
    with (
        pytest.raises(OutputExists, match="report.html: exists; use --force"),
        mio.output_folder(out, ["result.json"], replaces=every),
    ):
        pytest.fail("the block must not run")
    assert _tree(out) == ["report.html"]


def test_a_failed_write_names_the_output_not_the_staging_folder(tmp_path, monkeypatch):
    out = tmp_path / "c_full"

    def full(fd):
        raise OSError(errno.EFBIG, "File too large")

    with pytest.raises(OutputError) as info:  # noqa: PT012 - the write inside the block fails
        with mio.output_folder(out, ["r.json", "aligned_after.png"]) as staging:
            mio.write_json(staging / "r.json", {"a": 1})
            monkeypatch.setattr(os, "fsync", full)
            mio.write_png(staging / "aligned_after.png", np.zeros((2, 2), bool))
    monkeypatch.undo()
    assert str(info.value) == f"{out / 'aligned_after.png'}: cannot write (File too large)"
    assert _tree(tmp_path) == []
