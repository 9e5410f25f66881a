"""The man page, patchsmith(1), made from the argparse parser: never written by hand.

``setup.py`` writes it at build time and installs it as ``share/man/man1/patchsmith.1``;
``python -m patchsmith.cli.manpage`` prints it (``man -l <(python -m patchsmith.cli.manpage)``
reads it from a checkout). Every subcommand gets a section with its usage, description, options
by group and examples, so the page says what ``--help`` says, and cannot fall behind it.

Only the CLI and the build hook (``setup.py``) use this module; it reads the parser, nothing else.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator

from patchsmith import __version__

SEE_ALSO = ("filterdiff(1)", "lsdiff(1)", "patch(1)", "git-apply(1)", "wiggle(1)", "quilt(1)")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name, in the order ``--help`` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def all_commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand, nested ones too (``memory list``), each after its parent."""
    found: dict[str, argparse.ArgumentParser] = {}
    for name, sub in subcommands(parser).items():
        path = f"{prefix}{name}"
        found[path] = sub
        found.update(all_commands(sub, path + " "))
    return found


def summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each subcommand's one-line help, as ``patchsmith --help`` shows it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def option_actions(parser: argparse.ArgumentParser) -> Iterator[tuple[str, list[argparse.Action]]]:
    """(group title, its actions) for every group with something in it; help is left out, and
    a command's own commands are listed as such (each has its section)."""
    for group in parser._action_groups:
        actions: list[argparse.Action] = []
        for action in group._group_actions:
            if isinstance(action, argparse._SubParsersAction):
                actions += action._choices_actions
            elif action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction):
                actions.append(action)
        if actions:
            yield group.title or "options", actions


WIDTH = 78
"""The width usage lines are wrapped at: the page must not depend on the builder's terminal."""


def formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog=parser.prog, width=WIDTH)


def expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The help text of ``action`` with ``%(default)s`` and the like filled in, as --help does."""
    if not action.help:
        return ""
    return " ".join(formatter(parser)._expand_help(action).split())


def value_name(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """What an option takes (``N``, ``FILE``, ``{md,html,json}``), or '' for a flag."""
    if action.nargs == 0:
        return ""
    return formatter(parser)._format_args(action, action.dest.upper())


def escape(text: str) -> str:
    """``text`` safe in a roff text line: backslashes doubled, dashes as minus signs."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def line(text: str) -> str:
    """A text line roff will not read as a request (a leading '.' or ')."""
    return "\\&" + text if text.startswith((".", "'")) else text


def bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


def paragraph(text: str) -> list[str]:
    """A filled paragraph (argparse help text is one logical paragraph)."""
    return [line(escape(" ".join(text.split())))] if text.strip() else []


def verbatim(text: str) -> list[str]:
    """Lines kept as they are (usage, examples)."""
    return [".nf", *(line(escape(row)) for row in text.rstrip().splitlines()), ".fi"]


def option_entry(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    if not action.option_strings:  # a positional argument
        term = italic(value_name(parser, action) or action.dest)
    else:
        value = value_name(parser, action)
        term = ", ".join(
            bold(option) + (" " + italic(value) if value else "")
            for option in action.option_strings
        )
    return [".TP", term, *paragraph(expanded_help(parser, action))]


def usage(parser: argparse.ArgumentParser) -> str:
    writer = formatter(parser)
    writer.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    text = writer.format_help().strip()
    # argparse indents continuation lines under the first after "usage: ", which goes.
    return re.sub(r"\n {7}", "\n", text.removeprefix("usage: "))


def command_section(name: str, parser: argparse.ArgumentParser) -> list[str]:
    lines = [f'.SS "{escape(name)}"', *verbatim(usage(parser))]
    if parser.description:
        lines += [".PP", *paragraph(parser.description)]
    for title, actions in option_actions(parser):
        lines += [".PP", f"{italic(title)}:", ".RS 4"]
        for action in actions:
            lines += option_entry(parser, action)
        lines.append(".RE")
    if parser.epilog:
        lines += [".PP", *verbatim(parser.epilog)]
    return lines


def render(parser: argparse.ArgumentParser | None = None) -> str:
    """The whole man page as roff text."""
    if parser is None:
        from patchsmith.cli import build_parser

        parser = build_parser()
    description = parser.description or ""
    short = description.split(":")[0].rstrip(".")
    lines = [
        '.\\" Generated from the argparse parser by patchsmith/cli/manpage.py; do not edit.',
        f'.TH PATCHSMITH 1 "" "patchsmith {__version__}" "User Commands"',
        ".SH NAME",
        f"patchsmith \\- {escape(short[0].lower() + short[1:])}" if short else "patchsmith",
        ".SH SYNOPSIS",
        f"{bold('patchsmith')} [{bold('--debug')}] {italic('COMMAND')} [{italic('options')}]",
        ".br",
        f"{bold('patchsmith')} {italic('COMMAND')} {bold('--help')}",
        ".SH DESCRIPTION",
        *paragraph(description),
        ".SH OPTIONS",
    ]
    for _title, actions in option_actions(parser):
        for action in actions:
            lines += option_entry(parser, action)
    lines.append(".SH COMMANDS")
    for name, summary in summaries(parser).items():
        lines += [".TP", bold(name), *paragraph(summary)]
    for name, sub in all_commands(parser).items():
        lines += command_section(f"patchsmith {name}", sub)
    if parser.epilog:
        lines += [".SH EXIT STATUS", *paragraph(parser.epilog)]
    lines += [
        ".SH ENVIRONMENT",
        ".TP",
        bold("PATCHSMITH_DEBUG"),
        *paragraph("Set to 1: show a traceback when something goes wrong, as --debug does."),
        ".TP",
        bold("NO_COLOR"),
        *paragraph("Set: tables are written without colour."),
        ".SH SEE ALSO",
        ", ".join(bold(name.split("(")[0]) + "(" + name.split("(")[1] for name in SEE_ALSO),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
