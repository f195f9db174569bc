"""Type checkers see the public API typed: the package is marked typed (PEP 561) and its lazily
imported names are imported for them, each from the module that defines it at run time."""

from __future__ import annotations

import ast
import tomllib

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
