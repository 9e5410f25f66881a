"""``patchsmith completion bash|zsh``: shell completion, made from the argparse parser.

The scripts are generated, never written by hand: every subcommand, every option, and for an
option's value the kind of word it takes (a folder for ``DIR``, a file for ``FILE`` or
``PATCH``, the choices of ``--format``). ``setup.py`` writes both at build time and installs them
where bash-completion and zsh look (``share/bash-completion/completions/patchsmith``,
``share/zsh/site-functions/_patchsmith``); this command prints them for a shell that does not
look there (``eval "$(patchsmith completion bash)"``).

Only the CLI and the build hook (``setup.py``) use this module; it reads the parser, nothing else.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from patchsmith.cli import COMMANDS
from patchsmith.cli.manpage import all_commands, subcommands, summaries

SHELLS = ("bash", "zsh")

FOLDERS = frozenset({"DIR", "FOLDER"})
"""Metavars whose value is a folder."""
FILES = frozenset({"FILE", "PATCH", "PATH", "KEY", "CERT", "KO", "VANILLA"})
"""Metavars whose value is a file (``VANILLA``: a folder, a tarball or a git ref)."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "completion",
        help=COMMANDS["completion"],
        description="Print a completion script for SHELL, generated from patchsmith's own "
        "options. An installed patchsmith puts both where bash-completion and zsh find them; "
        "this is for a shell that does not look there.",
        epilog="examples:\n"
        '  eval "$(patchsmith completion bash)"          # in ~/.bashrc\n'
        "  patchsmith completion zsh > ~/.zfunc/_patchsmith  # with fpath+=(~/.zfunc) before "
        "compinit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return 0


def script(shell: str, parser: argparse.ArgumentParser | None = None) -> str:
    if parser is None:
        from patchsmith.cli import build_parser

        parser = build_parser()
    return bash_script(parser) if shell == "bash" else zsh_script(parser)


def value_kind(action: argparse.Action) -> str:
    """What an argument's value is: 'none' (a flag), 'choices', 'dir', 'file' or 'word'."""
    if action.nargs == 0:
        return "none"
    if action.choices is not None:
        return "choices"
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if metavar in FOLDERS:
        return "dir"
    if metavar in FILES:
        return "file"
    return "word"


def options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def positionals_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]


# --- bash ------------------------------------------------------------------------------------


def _words(values: list[str]) -> str:
    return " ".join(values)


def _bash_case_for(parser: argparse.ArgumentParser) -> list[str]:
    """The body of one subcommand's case: what follows an option, then options or positionals."""
    lines: list[str] = []
    by_kind: dict[str, list[str]] = {}
    choices: list[tuple[list[str], list[str]]] = []
    for action in options_of(parser):
        kind = value_kind(action)
        if kind == "choices":
            choices.append((list(action.option_strings), [str(c) for c in action.choices or ()]))
        elif kind != "none":
            by_kind.setdefault(kind, []).extend(action.option_strings)
    lines.append('            case "$prev" in')
    for kind, flag in (("dir", "-d"), ("file", "-f")):
        if by_kind.get(kind):
            lines.append(f"                {'|'.join(by_kind[kind])})")
            lines.append(f'                    _patchsmith_reply {flag} -- "$cur"; return ;;')
    for option_strings, values in choices:
        lines.append(f"                {'|'.join(option_strings)})")
        lines.append(
            f'                    _patchsmith_reply -W "{_words(values)}" -- "$cur"; return ;;'
        )
    if by_kind.get("word"):
        lines.append(f"                {'|'.join(by_kind['word'])})")
        lines.append("                    return ;;  # a number, a range, a name: nothing to offer")
    lines.append("            esac")
    options = [s for a in options_of(parser) for s in a.option_strings]
    lines.append(f'            options="{_words(options)}"')
    positionals = positionals_of(parser)
    if positionals and positionals[0].choices is not None:
        words = [str(c) for c in positionals[0].choices]
        lines.append(f'            words="{_words(words)}"')
    elif any(value_kind(p) == "file" for p in positionals):
        lines.append("            files=-f")
    elif any(value_kind(p) == "dir" for p in positionals):
        lines.append("            files=-d")
    return lines


def bash_script(parser: argparse.ArgumentParser) -> str:
    commands = all_commands(parser)
    top_options = [s for a in options_of(parser) for s in a.option_strings]
    parents = [name for name, sub in commands.items() if subcommands(sub)]
    lines = [
        "# bash completion for patchsmith; generated from its argparse parser",
        "# (patchsmith/cli/completion.py), do not edit. Installed as",
        '# share/bash-completion/completions/patchsmith, or: eval "$(patchsmith completion bash)"',
        "",
        "_patchsmith_reply() {",
        '    mapfile -t COMPREPLY < <(compgen "$@")',
        "}",
        "",
        "_patchsmith() {",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
        '    local command="" options="" words="" files="" word i',
        "    # The command is the first word that is not an option, and the next one too when",
        "    # that command has commands of its own (memory list).",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        "        word=${COMP_WORDS[i]}",
        "        [[ $word == -* ]] && continue",
        '        case "$command" in',
        '            "") command=$word ;;',
        *(f'            "{name}") command="{name} $word" ;;' for name in parents),
        "            *) break ;;",
        "        esac",
        "    done",
        '    case "$command" in',
        '        "")',
        f'            options="{_words(top_options)}"',
        f'            words="{_words(list(subcommands(parser)))}"',
        "            ;;",
    ]
    for name, sub in commands.items():
        lines.append(f'        "{name}")')
        lines.extend(_bash_case_for(sub))
        if subcommands(sub):
            lines.append(f'            words="{_words(list(subcommands(sub)))}"')
        lines.append("            ;;")
    lines += [
        "    esac",
        "    if [[ $cur == -* ]]; then",
        '        _patchsmith_reply -W "$options" -- "$cur"',
        "    elif [[ -n $words ]]; then",
        '        _patchsmith_reply -W "$words" -- "$cur"',
        "    elif [[ -n $files ]]; then",
        '        _patchsmith_reply "$files" -- "$cur"',
        "    fi",
        "}",
        "",
        "complete -o filenames -o bashdefault -F _patchsmith patchsmith",
    ]
    return "\n".join(lines) + "\n"


# --- zsh -------------------------------------------------------------------------------------


def _zsh_text(text: str) -> str:
    """``text`` inside a single-quoted ``_arguments`` spec: brackets and colons escaped."""
    first = " ".join(text.split()).split("; ")[0].split(" (")[0]
    for char in "\\[]:":
        first = first.replace(char, "\\" + char)
    return first.replace("'", "'\\''")


def _zsh_action(action: argparse.Action) -> str:
    kind = value_kind(action)
    if kind == "dir":
        return "_files -/"
    if kind == "file":
        return "_files"
    if kind == "choices":
        return "(" + " ".join(str(c) for c in action.choices or ()) + ")"
    return " "


def _zsh_option(action: argparse.Action) -> str:
    names = action.option_strings
    description = _zsh_text(action.help or "")
    repeatable = isinstance(action, (argparse._AppendAction, argparse._CountAction))
    exclusive = "" if repeatable or len(names) == 1 else "(" + " ".join(names) + ")"
    star = "*" if repeatable else ""
    if len(names) == 1:
        head = f"'{exclusive}{star}{names[0]}[{description}]"
    else:
        head = f"'{exclusive}'{star}" + "{" + ",".join(names) + "}" + f"'[{description}]"
    if value_kind(action) == "none":
        return head + "'"
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return head + f":{_zsh_text(metavar)}:{_zsh_action(action)}'"


def _zsh_positional(action: argparse.Action) -> str:
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest
    if action.nargs in ("*", "+"):
        prefix = "'*:"
    elif action.nargs == "?":
        prefix = "'::"
    else:
        prefix = "':"
    return prefix + f"{_zsh_text(metavar)}:{_zsh_action(action)}'"


def _zsh_name(path: str) -> str:
    return "_patchsmith" + "".join("_" + word.replace("-", "_") for word in path.split())


def _zsh_function(path: str, parser: argparse.ArgumentParser) -> list[str]:
    """A leaf command's function: its options and arguments."""
    specs = [_zsh_option(a) for a in options_of(parser)]
    specs += [_zsh_positional(a) for a in positionals_of(parser)]
    return [
        f"{_zsh_name(path)}() {{",
        "    _arguments -s -S : \\",
        *(f"        {s} \\" for s in specs[:-1]),
        f"        {specs[-1]}",
        "}",
        "",
    ]


def _zsh_dispatch(path: str, parser: argparse.ArgumentParser) -> list[str]:
    """A command with commands of its own (the top level, ``memory``): its options, then the
    command, then that command's function."""
    commands = subcommands(parser)
    helps = summaries(parser)
    described = [f"'{name}:{_zsh_text(helps.get(name, ''))}'" for name in commands]
    title = f"patchsmith {path} command".replace("  ", " ")
    prefix = f"{path} " if path else ""
    return [
        f"{_zsh_name(path)}() {{",
        '    local curcontext="$curcontext" state line',
        "    typeset -A opt_args",
        "    _arguments -C : \\",
        *(f"        {_zsh_option(a)} \\" for a in options_of(parser)),
        "        '1:command:->command' \\",
        "        '*::argument:->argument'",
        '    case "$state" in',
        "        command)",
        "            local -a commands",
        "            commands=(",
        *(f"                {entry}" for entry in described),
        "            )",
        f"            _describe -t commands '{title}' commands",
        "            ;;",
        "        argument)",
        f'            curcontext="${{curcontext%:*:*}}:{_zsh_name(path)[1:]}-$line[1]:"',
        '            case "$line[1]" in',
        *(f"                {name}) {_zsh_name(prefix + name)} ;;" for name in commands),
        "            esac",
        "            ;;",
        "    esac",
        "}",
        "",
    ]


def zsh_script(parser: argparse.ArgumentParser) -> str:
    lines = [
        "#compdef patchsmith",
        "# zsh completion for patchsmith; generated from its argparse parser",
        "# (patchsmith/cli/completion.py), do not edit. Installed as",
        "# share/zsh/site-functions/_patchsmith, or: patchsmith completion zsh > DIR/_patchsmith",
        "",
    ]
    for path, sub in all_commands(parser).items():
        lines += _zsh_dispatch(path, sub) if subcommands(sub) else _zsh_function(path, sub)
    lines += _zsh_dispatch("", parser)
    lines.append('_patchsmith "$@"')
    return "\n".join(lines) + "\n"
