"""The house rules of issue #19, checked on the source: modules of one idea (<= 500 lines, no
function over 80), ``__all__`` in every module, and no module using another module's private
names or another package's private modules. The one-way layers are checked by import-linter
(``lint-imports``, contracts in ``pyproject.toml``), run by ``.ci/run`` and by
``test_import_contracts`` below."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

PKG = REPO / "mesovision"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path, root: Path = PKG.parent) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    """Absolute dotted name of a relative import ``from <level dots><target> import ...``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _private_module_outside(imported: str, importer: str) -> bool:
    """``imported`` is a private module (some part starts with ``_``) of a package that
    ``importer`` does not belong to."""
    parts = imported.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            owner = ".".join(parts[:i])
            return not (importer == owner or importer.startswith(owner + "."))
    return False


def _violations(path: Path, root: Path = PKG.parent) -> list[str]:
    """Private reach-ins of the module at ``path`` (a file of the package under ``root``)."""
    module, is_pkg = _dotted(path, root), path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, module_aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            src = _resolve(module, is_pkg, node.level, node.module)
            if not src.startswith("mesovision"):
                continue
            if _private_module_outside(src, module):
                found.append(f"{module}:{node.lineno} imports private module {src}")
            for alias in node.names:
                full = f"{src}.{alias.name}"
                if (root / (full.replace(".", "/") + ".py")).exists() or (
                    root / full.replace(".", "/") / "__init__.py"
                ).exists():
                    module_aliases[alias.asname or alias.name] = full
                    if _private_module_outside(full, module):
                        found.append(f"{module}:{node.lineno} imports private module {full}")
                elif _is_private(alias.name) and src != module:
                    found.append(f"{module}:{node.lineno} imports private name {src}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mesovision") and _private_module_outside(
                    alias.name, module
                ):
                    found.append(f"{module}:{node.lineno} imports private module {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and _is_private(node.attr)
        ):
            target = f"{module_aliases[node.value.id]}.{node.attr}"
            found.append(f"{module}:{node.lineno} uses private name {target}")
    return found


def test_no_private_names_across_modules():
    found = [v for p in _modules() for v in _violations(p)]
    assert not found, "\n".join(found)


def test_modules_of_one_idea_are_short():
    long_modules = [
        f"{p.relative_to(PKG.parent)}: {n} lines"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long_modules, "\n".join(long_modules)


def test_no_function_over_80_lines():
    long_functions = []
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append(
                        f"{p.relative_to(PKG.parent)}:{node.lineno} {node.name} {n}"
                    )
    assert not long_functions, "\n".join(long_functions)


def test_every_module_declares_all():
    missing = []
    for p in _modules():
        if p.name == "__main__.py":
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        names = {
            t.id
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        if "__all__" not in names:
            missing.append(str(p.relative_to(PKG.parent)))
    assert not missing, "modules without __all__:\n" + "\n".join(missing)


def test_the_checker_sees_private_reach_ins(tmp_path):
    """The private-name rule itself, on a scratch package: reach-ins are reported, a package's
    own private module and a module's own names are not."""
    pkg = tmp_path / "mesovision"
    (pkg / "metrics").mkdir(parents=True)
    for f in ("__init__.py", "io.py", "metrics/__init__.py", "metrics/_registry.py"):
        (pkg / f).write_text("")
    (pkg / "metrics" / "fam.py").write_text("from . import _registry\nfrom ._registry import X\n")
    (pkg / "probe.py").write_text(
        "from .metrics._registry import REGISTRY\nfrom .io import _x\nfrom . import io\nio._y\n"
    )
    found = _violations(pkg / "probe.py", tmp_path)
    assert sorted(v.split(" ", 1)[1] for v in found) == [
        "imports private module mesovision.metrics._registry",
        "imports private name mesovision.io._x",
        "uses private name mesovision.io._y",
    ]
    assert _violations(pkg / "metrics" / "fam.py", tmp_path) == []


def _lint_imports() -> str:
    import sys

    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        exe = Path(shutil.which("lint-imports") or "lint-imports")
    if not exe.exists():
        pytest.fail("lint-imports is not installed (import-linter is in the test extra)")
    return str(exe)


def test_import_contracts():
    """The layer contracts in pyproject.toml hold (import-linter, imports inside functions
    included)."""
    r = subprocess.run(
        [_lint_imports(), "--no-cache"], cwd=PKG.parent, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_import_contracts_catch_an_upward_import_inside_a_function(tmp_path):
    """The same kind of contract on a scratch package: an upward import written inside a
    function breaks it."""
    import os

    pkg = tmp_path / "archprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("from . import low\n")
    (pkg / "low.py").write_text("def f():\n    from . import high\n    return high\n")
    (tmp_path / "contracts.toml").write_text(
        '[tool.importlinter]\nroot_package = "archprobe"\n\n'
        '[[tool.importlinter.contracts]]\nname = "layers"\ntype = "layers"\n'
        'layers = ["archprobe.high", "archprobe.low"]\n'
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run(
        [_lint_imports(), "--no-cache", "--config", str(tmp_path / "contracts.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 1 and "archprobe.low -> archprobe.high" in r.stdout, r.stdout
