"""``mesovision.testing`` (the test-data builders) stays out of the library: no module outside
it imports it, at module level or inside a function, absolutely or relatively."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "mesovision"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` (the text of the module named ``module``) imports, as absolute
    dotted names, wherever the import statement is (functions included)."""
    package = module.rsplit(".", 1)[0] if not module.endswith(".__init__") else module
    package = package.removesuffix(".__init__")
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def uses_testing(names: set[str]) -> bool:
    return any(n == "mesovision.testing" or n.startswith("mesovision.testing.") for n in names)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("mesovision.demo", "from .testing.trial import make_trial", True),
        ("mesovision.report.render", "def f():\n    from ..testing import synthetic", True),
        ("mesovision.cli", "import mesovision.testing.samples", True),
        ("mesovision.__init__", "from .testing import trial", True),
        ("mesovision.report.render", "from ..io import write_png", False),
        ("mesovision.compare", "from .types import Landmarks", False),
    ],
)
def test_import_scan_sees_every_form_of_import(module, source, expected):
    assert uses_testing(imported_modules(source, module)) is expected


def test_library_never_imports_the_testing_package():
    modules = [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]
    assert len(modules) > 30  # the whole library was scanned
    offenders = [
        module_name(p)
        for p in modules
        if uses_testing(imported_modules(p.read_text(encoding="utf-8"), module_name(p)))
    ]
    assert offenders == []


def test_testing_package_holds_the_builders():
    from mesovision.testing import head_turn, samples, synthetic, trial

    assert callable(synthetic.apply_similarity) and callable(head_turn.turn_head)
    assert callable(samples.sample_faces) and callable(trial.make_trial)
    assert not (PACKAGE / "synthetic.py").exists() and not (PACKAGE / "trial.py").exists()
