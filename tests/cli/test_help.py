"""Each subcommand's one-line help is written once (``patchsmith.cli.COMMANDS``) and shown the
same whichever parser lists it: the whole one (``patchsmith --help``), or one built for another
subcommand, where the others are bare names (``patchsmith --help check``)."""

from __future__ import annotations

import argparse

import pytest

from patchsmith.cli import COMMANDS, build_parser


def listed(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    """Each subcommand's help as the top-level ``--help`` lists it."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return {choice.dest: choice.help for choice in actions[0]._choices_actions}


def test_the_whole_parser_lists_every_command_with_its_one_help() -> None:
    assert listed(build_parser()) == COMMANDS


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_parser_built_for_one_command_lists_the_same_help(command: str) -> None:
    assert listed(build_parser(command)) == COMMANDS


def test_the_listing_is_what_help_prints(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser("check").parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for summary in COMMANDS.values():
        assert " ".join(summary.split()) in out
