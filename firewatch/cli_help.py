"""How every ``firewatch`` subcommand presents itself: a one-line summary its parent lists, and
the same line with the details opening its own ``--help``."""

from __future__ import annotations

import argparse


class Paragraphs(argparse.HelpFormatter):
    """Wraps each paragraph on its own and keeps the blank lines between them; a paragraph
    with an indented line (examples, lists) is kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(
            paragraph
            if any(line.startswith(" ") for line in paragraph.splitlines())
            else fill(paragraph, width, indent)
            for paragraph in text.split("\n\n")
        )


def add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    details: str = "",
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """``summary``: lower case, no full stop, as the parent's list shows it."""
    opening = summary[0].upper() + summary[1:] + "."
    return sub.add_parser(
        name,
        help=summary,
        description=f"{opening}\n\n{details}" if details else opening,
        epilog=epilog,
        formatter_class=Paragraphs,
    )
