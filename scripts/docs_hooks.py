"""MkDocs hook: the pages generated from the code at build time.

``docs/cli.md`` and ``docs/exit-codes.md`` hold a marker (an HTML comment) where this hook writes
the reference generated from the real command line: every command and action of
:func:`mesovision.cli.build_parser` with its description, usage, options (with their help texts
and defaults) and examples, and the exit-code table of
:func:`mesovision.commands.common.exit_codes`, the one ``mesovision --help`` prints. The pages
cannot go stale: they are rebuilt from the parser on every ``mkdocs build``.

The repository root (the folder of ``mkdocs.yml``) is put first on ``sys.path``, so the build
documents the checkout it runs in, whatever copy of mesovision is installed.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

__all__ = [
    "CLI_MARKER",
    "EXIT_CODES_MARKER",
    "cli_reference",
    "exit_code_reference",
    "on_config",
    "on_page_markdown",
]

CLI_MARKER = "<!-- generated: cli-reference -->"
EXIT_CODES_MARKER = "<!-- generated: exit-codes -->"


def on_config(config):
    """Document the checkout that holds ``mkdocs.yml``."""
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the markers by the generated reference."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if EXIT_CODES_MARKER in markdown:
        markdown = markdown.replace(EXIT_CODES_MARKER, exit_code_reference())
    return markdown


def _text(s: str | None) -> str:
    """Plain help text as Markdown table text: HTML and Markdown characters escaped, one line."""
    s = html.escape(" ".join((s or "").split()), quote=False)
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", s)


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        if a.option_strings:
            takes = a.nargs != 0
            meta = f" {a.metavar or a.dest.upper()}" if takes else ""
            names = ", ".join(f"`{o}{meta}`" for o in a.option_strings)
        else:
            names = f"`{a.metavar or a.dest}`"
        extra = []
        if a.choices is not None:
            extra.append("one of " + ", ".join(f"`{c}`" for c in a.choices))
        if a.required and a.option_strings:
            extra.append("required")
        note = f" ({'; '.join(extra)})" if extra else ""
        rows.append(f"| {names} | {_text(a.help)}{note} |")
    return rows


def _commands_table(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                full = " ".join(("mesovision", *path, choice.dest))
                anchor = re.sub(r"[^a-z0-9]+", "-", full.lower()).strip("-")
                rows.append(f"| [`{choice.dest}`](#{anchor}) | {_text(choice.help)} |")
    return ["| command | what it does |", "| --- | --- |", *rows] if rows else []


def _section(path: tuple[str, ...], parser: argparse.ArgumentParser) -> str:
    title = " ".join(("mesovision", *path))
    level = "#" * min(2 + len(path), 4)
    out = [f"{level} {title}", ""]
    if parser.description:
        out += [_text(parser.description), ""]
    out += ["```text", parser.format_usage().strip(), "```", ""]
    out += ["| argument or option | meaning |", "| --- | --- |", *_option_rows(parser), ""]
    commands = _commands_table(parser, path)
    if commands:
        out += [*commands, ""]
    epilog = parser.epilog or ""
    if "Examples:\n" in epilog:
        lines = epilog.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        out += ["Examples:", "", "```sh", *(line.strip() for line in lines), "```", ""]
    return "\n".join(out)


def cli_reference() -> str:
    """The Markdown reference of every command, action and option of ``mesovision``."""
    from mesovision.cli import build_parser, walk_parsers

    return "\n".join(_section(path, p) for path, p in walk_parsers(build_parser()))


def exit_code_reference() -> str:
    """The exit codes as a Markdown table, from the table ``mesovision --help`` prints."""
    from mesovision.commands.common import exit_codes

    rows = [f"| {code} | {_text(meaning)} |" for code, meaning in exit_codes().items()]
    return "\n".join(["| code | meaning |", "| --- | --- |", *rows])
