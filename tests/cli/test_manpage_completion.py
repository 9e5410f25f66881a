"""patchsmith(1) and the bash and zsh completions say what the parser says, and are valid.

The page and the scripts are generated from ``build_parser()``; these tests walk the same parser
for what must be in them (every subcommand, every option), then hand the output to the real
tools: groff for the page, ``bash -n`` and shellcheck, ``zsh -n``, and bash itself completing
words through the generated function.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from patchsmith.cli import COMMANDS, build_parser, main
from patchsmith.cli.completion import script
from patchsmith.cli.manpage import all_commands, escape, render, subcommands


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


def every_option(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Each subcommand's option strings (and '' for the top level's), -h/--help aside."""

    def strings(of: argparse.ArgumentParser) -> list[str]:
        return [
            option
            for action in of._actions
            if not isinstance(action, argparse._HelpAction)
            for option in action.option_strings
        ]

    found = {"": strings(parser)}
    for name, sub in all_commands(parser).items():
        found[name] = strings(sub)
    return found


def section(page: str, name: str) -> str:
    """The roff text of one subcommand's section."""
    start = page.index(f'.SS "patchsmith {name}"')
    following = page.find(".SS ", start + 1)
    return page[start : following if following != -1 else len(page)]


def test_the_parser_has_every_command(parser: argparse.ArgumentParser) -> None:
    assert list(subcommands(parser)) == list(COMMANDS)
    nested = [name for name in all_commands(parser) if " " in name]
    assert "memory list" in nested  # a command's own commands are walked too


def test_the_man_page_has_every_command_and_option(parser: argparse.ArgumentParser) -> None:
    page = render(parser)
    assert page.startswith('.\\" Generated from')
    for name, options in every_option(parser).items():
        if not name:
            for option in options:
                assert escape(option) in page.split(".SH COMMANDS")[0], option
            continue
        assert f'.SS "patchsmith {escape(name)}"' in page, name
        if " " not in name:  # and in the list of commands
            assert f".TP\n\\fB{escape(name)}\\fR" in page, name
        text = section(page, name)
        for option in options:
            assert f"\\fB{escape(option)}\\fR" in text, f"{name}: {option}"


def test_the_man_page_reads_in_man_without_warnings(tmp_path: Path) -> None:
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    page = tmp_path / "patchsmith.1"
    page.write_text(render())
    result = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    shown = subprocess.run(
        ["groff", "-man", "-Tascii", str(page)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, GROFF_NO_SGR="1"),
    ).stdout
    plain = re.sub(".\b", "", shown)  # bold and underline are overstruck characters
    assert "patchsmith filter" in plain and "--strip-match" in plain
    assert "EXIT STATUS" in plain and "filterdiff(1)" in plain


def test_the_page_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = render()
    monkeypatch.setenv("COLUMNS", "40")
    assert render() == wide


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_command_prints_the_script(
    shell: str, capsys: pytest.CaptureFixture[str], parser: argparse.ArgumentParser
) -> None:
    assert main(["completion", shell]) == 0
    assert capsys.readouterr().out == script(shell, parser)


def test_completion_scripts_have_every_command_and_option(parser: argparse.ArgumentParser) -> None:
    bash, zsh = script("bash", parser), script("zsh", parser)
    for name, options in every_option(parser).items():
        if name:
            function = "_patchsmith_" + name.replace(" ", "_").replace("-", "_")
            assert f'        "{name}")' in bash and f"{function}() {{" in zsh, name
        for option in options:
            assert f" {option}" in bash or f'"{option}' in bash, f"{name}: {option}"
            assert option in zsh, f"{name}: {option}"


def test_bash_completion_is_valid(tmp_path: Path, parser: argparse.ArgumentParser) -> None:
    path = tmp_path / "patchsmith"
    path.write_text(script("bash", parser))
    subprocess.run(["bash", "-n", str(path)], check=True)
    if shutil.which("shellcheck") is not None:
        result = subprocess.run(
            ["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout


def test_zsh_completion_is_valid(tmp_path: Path, parser: argparse.ArgumentParser) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (apt-get install zsh)")
    path = tmp_path / "_patchsmith"
    path.write_text(script("zsh", parser))
    subprocess.run(["zsh", "-n", str(path)], check=True)
    # Loaded by compinit as zsh loads it, each subcommand's function is defined.
    probe = (
        f"fpath=({tmp_path} $fpath); autoload -Uz compinit; compinit -u -d {tmp_path}/dump; "
        "autoload -Uz +X _patchsmith; whence -w _patchsmith"
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0 and "_patchsmith: function" in result.stdout, result.stderr


def complete(bash_script: Path, words: list[str], cwd: Path) -> list[str]:
    """What the generated bash function offers for ``words`` (the last is being typed)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source '{bash_script}'; COMP_WORDS=({quoted}); "
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); "
        '_patchsmith; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_values(
    tmp_path: Path, parser: argparse.ArgumentParser
) -> None:
    path = tmp_path / "patchsmith.bash"
    path.write_text(script("bash", parser))
    work = tmp_path / "work"
    (work / "linux").mkdir(parents=True)
    (work / "patch-6.1.999.diff").write_text("")
    assert complete(path, ["patchsmith", "fil"], work) == ["filter"]
    assert complete(path, ["patchsmith", "--debug", "ch"], work) == ["check"]
    assert complete(path, ["patchsmith", "filter", "--on"], work) == ["--only"]
    assert complete(path, ["patchsmith", "report", "--format", ""], work) == ["md", "html", "json"]
    assert complete(path, ["patchsmith", "check", "--tree", ""], work) == ["linux"]
    assert sorted(complete(path, ["patchsmith", "check", ""], work)) == [
        "linux",
        "patch-6.1.999.diff",
    ]
    assert complete(path, ["patchsmith", "filter", "-p", ""], work) == []
    assert complete(path, ["patchsmith", "completion", ""], work) == ["bash", "zsh"]
    nested = set(subcommands(subcommands(parser)["memory"]))
    assert set(complete(path, ["patchsmith", "memory", ""], work)) == nested
    assert "list" in nested
    for name, options in every_option(parser).items():
        if name:
            offered = complete(path, ["patchsmith", *name.split(), "-"], work)
            assert set(options) <= set(offered), name
