"""``serve --token-file``: the access token kept in a private file, the same at every start (a
bookmarked address keeps working), and a file that is not private or holds no token refused
with one line, before anything is written."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import httpx
import pytest
from conftest import REPO
from test_app_http import _serve, _stop

from mesovision.app.security import TOKEN_CHARS, token_from_file
from mesovision.errors import InputFileError, OutputError, UsageError


def test_a_missing_token_file_is_created_private_and_read_back(tmp_path):
    path = tmp_path / "token"
    assert token_from_file(path, create=False) is None and not path.exists()
    token, created = token_from_file(path)
    assert created and TOKEN_CHARS.fullmatch(token) and len(token) == 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token_from_file(path) == (token, False)
    assert token_from_file(path, create=False) == (token, False)
    assert token_from_file(tmp_path / "other")[0] != token  # each new file its own random token


@pytest.mark.parametrize(
    ("setup", "error", "words"),
    [
        (lambda p: (p.write_text("a" * 43), p.chmod(0o644)), UsageError, "chmod 600"),
        (lambda p: (p.write_text("a" * 43), p.chmod(0o620)), UsageError, "-rw--w----"),
        (lambda p: (p.write_text("short"), p.chmod(0o600)), InputFileError, "access token"),
        (lambda p: (p.write_text("a b" * 20), p.chmod(0o600)), InputFileError, "access token"),
        (lambda p: p.mkdir(), InputFileError, "is not a file"),
        (lambda p: p.symlink_to(p.parent / "gone"), InputFileError, "is not a file"),
    ],
)
def test_a_token_file_that_is_not_private_or_holds_no_token_is_refused(
    tmp_path, setup, error, words
):
    path = tmp_path / "token"
    setup(path)
    with pytest.raises(error) as e:
        token_from_file(path)
    assert str(e.value).startswith(f"{path}: ") and words in str(e.value)
    assert "\n" not in str(e.value)


def test_a_token_file_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is not a folder"):
        token_from_file(tmp_path / "nowhere" / "token", create=False)


def test_serve_gives_the_same_address_at_every_start(tmp_path):
    path = tmp_path / "token"
    tokens = []
    for told in ("a new access token, kept", "the access token kept"):
        proc, url, base, _, token = _serve(tmp_path, "--token-file", str(path))
        try:
            assert (
                proc.stdout.readline() == f"({told} in {path}: the same address at every start)\n"
            )
            assert httpx.get(url).status_code == 303  # the printed address opens the app
        finally:
            _stop(proc)
        tokens.append(token)
    assert tokens[0] == tokens[1] == path.read_text().strip()


def test_serve_refuses_a_shared_token_file_in_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "token"
    path.write_text("b" * 43)
    path.chmod(0o644)
    cmd = [sys.executable, "-m", "mesovision", "serve", "--store", str(tmp_path / "s"),
           "--port", "0", "--token-file", str(path)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "chmod 600" in proc.stderr, proc.stderr
    assert not (tmp_path / "s").exists()
    # a port in use: the missing token file is not written
    missing = tmp_path / "new-token"
    cmd[cmd.index(str(path))] = str(missing)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cmd[cmd.index("0")] = str(busy.getsockname()[1])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "in use" in proc.stderr, proc.stderr
    assert not missing.exists() and not os.path.exists(tmp_path / "s")
