"""The command-line reference of the user guide, generated from the argparse parser.

``python -m simnet.cli.docs > docs/cli.md`` regenerates ``docs/cli.md`` from
:func:`simnet.cli.main.build_parser`: every command and nested subcommand with its
usage, description, subcommands and arguments. ``tests/test_docs.py`` checks that the
committed page equals this output, so the reference cannot go stale.

The output does not depend on the terminal: usage lines are wrapped at a fixed width
(:data:`USAGE_WIDTH`) whatever ``COLUMNS`` says.

Examples
--------
>>> from simnet.cli.docs import cli_reference
>>> text = cli_reference()
>>> text.startswith("# Command-line reference")
True
>>> "## `simnet hierarchy show`" in text
True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

__all__ = ["USAGE_WIDTH", "cli_reference", "main"]

#: Width at which the usage lines are wrapped (the project's line length).
USAGE_WIDTH = 88

_HEADER = """\
# Command-line reference

<!-- Generated from simnet.cli.main.build_parser() by simnet/cli/docs.py; do not edit.
     Regenerate with:  python -m simnet.cli.docs > docs/cli.md -->

The `simnet` command is a thin layer over the Python API (see [the API tour](api.md));
its options use the same names as the functions' parameters. Every error simnet raises
on purpose, every file-system error on the paths given and every usage error is printed
as one line `simnet: error: <message>` on stderr, with exit status 2.
`simnet COMMAND --help` prints the same information as this page.
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=USAGE_WIDTH)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _walk(
    parser: argparse.ArgumentParser,
) -> Iterator[argparse.ArgumentParser]:
    """The parser and its nested subcommand parsers, depth first, in parser order."""
    yield parser
    sub = _subparsers(parser)
    if sub is not None:
        for child in sub.choices.values():
            yield from _walk(child)


def _anchor(prog: str) -> str:
    """GitHub's anchor of the heading ``## `prog` ``."""
    return prog.lower().replace(" ", "-")


def _text(text: str) -> str:
    """One-line Markdown text: ``<`` and ``>`` escaped, so ``<name>`` stays visible."""
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return _text(text).replace("|", "\\|")


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = _formatter(parser.prog)
    formatter.add_usage(
        parser.usage, parser._actions, parser._mutually_exclusive_groups
    )
    return formatter.format_help().strip()


def _invocation(action: argparse.Action, prog: str) -> str:
    return _formatter(prog)._format_action_invocation(action)


def _help(action: argparse.Action, prog: str) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    return _formatter(prog)._expand_help(action)


def _default(action: argparse.Action) -> str:
    if isinstance(
        action,
        argparse._HelpAction | argparse._VersionAction | argparse._StoreTrueAction,
    ):
        return ""
    if action.default is None or action.default == argparse.SUPPRESS:
        return ""
    return f"`{action.default}`"


def _section(parser: argparse.ArgumentParser) -> list[str]:
    prog = parser.prog
    lines = [f"## `{prog}`", "", "```text", _usage(parser), "```", ""]
    if parser.description:
        lines += [_text(parser.description), ""]
    sub = _subparsers(parser)
    if sub is not None:
        helps = {a.dest: a.help or "" for a in sub._choices_actions}
        lines += ["| subcommand | what it does |", "|---|---|"]
        for name, child in sub.choices.items():
            link = f"[`{name}`](#{_anchor(child.prog)})"
            lines.append(f"| {link} | {_cell(helps.get(name, ''))} |")
        lines.append("")
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        invocation = _invocation(action, prog).replace("|", "\\|")
        rows.append(
            f"| `{invocation}` | {_cell(_help(action, prog))} | {_default(action)} |"
        )
    if rows:
        lines += ["| argument | meaning | default |", "|---|---|---|", *rows, ""]
    return lines


def cli_reference() -> str:
    """The Markdown of ``docs/cli.md``: every ``simnet`` command and subcommand.

    Returns
    -------
    str
        A page with a table of contents and, for the top-level command and every
        nested subcommand (in parser order), its usage, description, subcommands
        and arguments (with defaults), all read from
        :func:`simnet.cli.main.build_parser`.
    """
    from .main import build_parser

    parsers = list(_walk(build_parser()))
    lines = [_HEADER, "## Commands", ""]
    for parser in parsers:
        depth = parser.prog.count(" ")
        indent = "  " * max(depth - 1, 0)
        lines.append(f"{indent}* [`{parser.prog}`](#{_anchor(parser.prog)})")
    lines.append("")
    for parser in parsers:
        lines += _section(parser)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    """Print :func:`cli_reference` (``python -m simnet.cli.docs > docs/cli.md``)."""
    sys.stdout.write(cli_reference())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
