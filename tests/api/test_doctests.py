"""The ``Examples`` of the public API's docstrings run as written (on the shipped samples)."""

from __future__ import annotations

import doctest
import importlib
import re

import pytest
from conftest import REPO

import mesovision

#: Where the public API's examples live: the package's tour, the API functions, the methods
#: of :class:`mesovision.Comparison` and the reader of a saved one.
DOCUMENTED = ("mesovision", "mesovision.api", "mesovision.compare.Comparison", "mesovision.saved")


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=True)
    tests = []
    for dotted in DOCUMENTED:
        module_name, _, attr = dotted.partition(".compare.")
        if attr:
            obj = getattr(importlib.import_module("mesovision.compare"), attr)
            module = importlib.import_module("mesovision.compare")
        else:
            obj = module = importlib.import_module(module_name)
        tests += [t for t in finder.find(obj, dotted, module=module) if t.examples]
    return sorted(tests, key=lambda t: t.name)


def _guide() -> doctest.DocTest:
    """The ``>>>`` examples of ``docs/python.md``'s fenced code blocks, as one session."""
    text = (REPO / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    session = "\n".join(b for b in blocks if b.lstrip().startswith(">>>"))
    return doctest.DocTestParser().get_doctest(session, {}, "docs/python.md", None, 0)


EXAMPLES = [*_examples(), _guide()]


def test_every_public_function_has_an_example():
    named = {t.name.rsplit(".", 1)[-1] for t in EXAMPLES}
    for name in mesovision.api.__all__:
        if callable(getattr(mesovision.api, name)) and name[0].islower():
            assert name in named, f"mesovision.api.{name} has no Examples"
    assert {"to_frame", "save", "mesovision", "load_result"} <= named


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_examples(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=lambda s: print(s, end=""))
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (see output)"
