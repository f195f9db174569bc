"""The documentation site: it builds offline with ``--strict``, its command-line reference is the
real parser's, its exit codes are the CLI's, and no page carries development history."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

#: Development history belongs to git and CHANGELOG.md, not to the README or the docs.
HISTORY = [
    r"last session",
    r"\bwas\b.*\bbefore\b",
    r"previous session",
    r"this session",
    r"previous run",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml")]
    proc = subprocess.run(
        [*cmd, "-d", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def _commands():
    """(command path, parser) of the real command line, nested actions included."""
    from mesovision.cli import build_parser, walk_parsers

    return list(walk_parsers(build_parser()))


def _sections(html: str) -> dict[str, str]:
    """The CLI page cut at its command headings: anchor id -> the HTML up to the next one."""
    parts = re.split(r'<h[2-4] id="(mesovision[a-z0-9-]*)"', html)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_cli_reference_lists_every_command_and_option_of_the_parser(site):
    sections = _sections((site / "cli" / "index.html").read_text(encoding="utf-8"))
    commands = _commands()
    assert len(commands) == 1 + 15 + 5 + 3 + 4 and len(sections) == len(commands)
    for path, parser in commands:
        anchor = "-".join(("mesovision", *path))
        assert anchor in sections, f"no section for mesovision {' '.join(path)}"
        text = sections[anchor]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name in action.choices:
                    assert f'href="#{anchor}-{name}"' in text, (anchor, name)
                continue
            for name in action.option_strings or [action.metavar or action.dest]:
                assert re.search(f"<code>{re.escape(name)}[ <]", text), (anchor, name)
            if action.help and action.help != argparse.SUPPRESS:
                words = " ".join(action.help.split()[:4])
                assert words.replace("'", "&#x27;") in text or words in text, (anchor, words)


def test_exit_codes_page_is_the_table_the_cli_prints(site):
    from mesovision.commands.common import exit_codes

    html = (site / "exit-codes" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", html)
    assert [int(r) for r in rows] == list(exit_codes()) == [0, 1, *range(2, 16), 130, 141, 143]
    assert "An output exists and --force was not given" in html


@pytest.mark.parametrize("module", ["compare", "noise", "comparability", "metrics", "io", "store"])
def test_api_reference_is_generated_from_docstrings(site, module):
    html = (site / "api" / module / "index.html").read_text(encoding="utf-8")
    members = set(re.findall(rf'id="mesovision\.{module}\.(\w+)"', html))
    assert len(members) >= 3, members


def test_the_site_loads_nothing_from_the_network(site):
    external = re.compile(r'<(?:script|img|link|iframe)[^>]*(?:src|href)="(?:https?:)?//', re.I)
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not external.search(text), page
        assert "fonts.googleapis" not in text and "googletagmanager" not in text, page


def _doc_files():
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def test_the_docs_are_found():
    names = {p.relative_to(REPO).as_posix() for p in _doc_files()}
    assert {"README.md", "docs/index.md", "docs/cli.md", "docs/validation.md"} <= names


@pytest.mark.parametrize("path", _doc_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_development_history_in_readme_or_docs(path):
    hits = [
        f"{path.name}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for pattern in HISTORY
        if re.search(pattern, line, re.I)
    ]
    assert hits == []


@pytest.mark.parametrize("line", ["was 1.4-1.7x before", "1.06x last session", "In this session"])
def test_the_history_patterns_catch_history(line):
    assert any(re.search(p, line, re.I) for p in HISTORY)


def test_the_api_reference_has_an_entry_for_every_public_name(site):
    """Every name of ``mesovision.__all__`` (the errors users catch, the records the functions
    return) is rendered on an API page, from the module that defines it."""
    from mesovision import _lazy

    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    ids = set(re.findall(r'id="(mesovision[\w.]*)"', html))
    missing = [
        f"mesovision.{module}.{name}"
        for name, module in _lazy.PUBLIC.items()
        if f"mesovision.{module}.{name}" not in ids
    ]
    assert not missing, f"not in the API reference: {missing}"
