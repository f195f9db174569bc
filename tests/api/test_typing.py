"""Type checkers see the public API typed: the package is marked typed (PEP 561) and its lazily
imported names are imported for them, each from the module that defines it at run time."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO

import mesovision as mv
from mesovision import _lazy


def _type_checking_block(tree: ast.Module) -> ast.If:
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "mesovision/__init__.py needs one `if TYPE_CHECKING:` block"
    return blocks[0]


def test_the_package_is_marked_typed_and_ships_the_marker():
    assert (REPO / "mesovision" / "py.typed").is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["mesovision"]


def test_type_checkers_see_every_public_name_from_its_module():
    tree = ast.parse((REPO / "mesovision" / "__init__.py").read_text(encoding="utf-8"))
    seen = {}
    for node in _type_checking_block(tree).body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.dump(node)
        for alias in node.names:
            # "X as X": an explicit re-export (mypy --strict has no implicit re-exports)
            assert alias.asname == alias.name, f"import {alias.name} as {alias.name}"
            seen[alias.name] = node.module
    assert seen == _lazy.PUBLIC
    for name, module in seen.items():  # the object type checkers see is the one users get
        defined = getattr(__import__(f"mesovision.{module}", fromlist=[name]), name)
        assert getattr(mv, name) is defined or name in ("compare", "align", "metrics"), name


def test_unknown_names_are_not_hidden_from_type_checkers():
    """The lazy ``__getattr__`` is defined only at run time: to a type checker a module-level
    ``__getattr__`` makes every misspelt ``mv.comapre`` an ``Any``."""
    tree = ast.parse((REPO / "mesovision" / "__init__.py").read_text(encoding="utf-8"))
    top_level = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "__getattr__" not in top_level
    assert callable(mv.__getattr__)


#: A research script as docs/python.md writes it (pandas left out: it has no inline types).
_SCRIPT = """
from pathlib import Path

import mesovision as mv


def run(pairs: list[tuple[Path, Path]], out: Path) -> dict[tuple[str, str], float]:
    deltas: dict[tuple[str, str], float] = {}
    for before, after in pairs:
        try:
            r = mv.compare(before, after, treated=["left_cheek"], threads=1)
        except mv.MesovisionError as err:
            print(f"skipped: {err} ({err.path})")
            continue
        c: mv.Change = r.changes["left_cheek"]["redness.mean_a"]
        q: float | None = c.q
        print(q, len(r.significant()), r.pair.alignment.residual_px, r.verdicts["colour"].status)
        deltas[(before.name, after.name)] = c.delta
        saved: mv.SavedComparison = mv.load_result(r.save(out / before.stem))
        print(saved.to_dict()["schema_version"])
    photo: mv.ImageLike = mv.load_photo(mv.sample_pair()[0])
    print(photo, [m.unit for m in mv.metrics("redness")])
    return deltas
"""

#: Mistakes a type checker finds only when it sees the API's types.
_MISTAKES = {
    'mv.comapre("a.jpg", "b.jpg")': 'Module has no attribute "comapre"',
    'mv.compare("a.jpg", "b.jpg").nope': '"Comparison" has no attribute "nope"',
    'mv.compare(1, "b.jpg")': 'Argument 1 to "compare" has incompatible type "int"',
    'x: int = mv.load_photo("a.jpg")': 'expression has type "Photo", variable has type "int"',
}


def test_mypy_strict_checks_a_script_that_uses_the_api(tmp_path):
    pytest.importorskip("mypy")  # in the test extras
    (tmp_path / "user.py").write_text(_SCRIPT)
    (tmp_path / "mistakes.py").write_text(
        "import mesovision as mv\n\n" + "\n".join(_MISTAKES) + "\n"
    )
    cmd = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-color"]
    cmd += ["--cache-dir", str(tmp_path / "cache")]
    env = {**os.environ, "MYPYPATH": str(REPO)}  # this checkout's package, not an installed one
    good = subprocess.run([*cmd, "user.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert good.returncode == 0 and "Success: no issues found" in good.stdout, good.stdout
    bad = subprocess.run(
        [*cmd, "mistakes.py"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    lines = bad.stdout.splitlines()
    for n, message in enumerate(_MISTAKES.values(), start=3):
        assert any(ln.startswith(f"mistakes.py:{n}: error: ") and message in ln for ln in lines), (
            bad.stdout
        )


def _public_callables():
    """``(name, object)`` for every function and class of ``mv.__all__`` and each class's own
    methods, properties and cached properties (``__init__`` too); ``mv.compare``, ``mv.align``
    and ``mv.metrics`` as the functions of ``mesovision.api`` that a call runs."""
    import functools
    import inspect
    import types

    from mesovision import api

    for name in mv.__all__:
        obj = getattr(mv, name)
        if isinstance(obj, types.ModuleType):
            obj = getattr(api, name)
        if inspect.isfunction(obj):
            yield name, obj
        if not inspect.isclass(obj):
            continue
        yield name, obj
        for attr, member in vars(obj).items():
            if attr.startswith("_") and attr != "__init__":
                continue
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            elif isinstance(member, functools.cached_property):
                member = member.func
            if inspect.isfunction(member):
                yield f"{name}.{attr}", member


def test_runtime_type_hints_resolve_for_every_public_callable():
    """``typing.get_type_hints`` (what beartype, typeguard and Sphinx autodoc call) resolves the
    annotations of the whole public API, names imported only for type checkers included; the
    modules behind it still do not import pandas until it is used."""
    import typing

    code = "import sys, mesovision.compare, mesovision.saved; print('pandas' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.strip() == "False", proc.stderr
    hints = {name: typing.get_type_hints(obj) for name, obj in _public_callables()}
    assert {"compare", "load_result", "Comparison.save", "Change.as_dict"} <= set(hints)
    assert len(hints) > 60
    import pandas as pd

    for name in ("Comparison.to_frame", "SavedComparison.to_frame"):
        assert hints[name] == {"return": pd.DataFrame}, name
    assert hints["compare"]["return"] is mv.Comparison
    assert hints["Change"]["noise"] is mv.NoiseTerms
