"""Names and code lines shown to a person: two different ones never look the same.

The look-alikes: a file whose name holds the raw byte 0xff and one whose name holds the four
characters ``\\xff`` typed (``backslashreplace`` showed both as ``drivers/x\\xff.c``). A name
is shown as git shows it, so git itself is the reference where the two rules overlap.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from patchsmith.patchfile.names import decode_path, unquote_c
from patchsmith.quoting import escape_line, has_raw_bytes, quote_name

RAW = decode_path(b"drivers/x\xff.c")
TYPED = decode_path(b"drivers/x\\xff.c")


def _bytes_of_shown_name(shown: str) -> bytes:
    """What a reader (or ``git``'s own unquoting) takes the shown name to be."""
    if shown.startswith('"'):
        raw, used = unquote_c(shown.encode("utf-8"))
        assert used == len(shown.encode("utf-8")), shown  # nothing after the closing quote
        return raw
    assert '"' not in shown and "\\" not in shown, shown
    return shown.encode("utf-8", "surrogateescape")


def test_the_look_alike_names_show_differently() -> None:
    assert quote_name(RAW) == '"drivers/x\\377.c"'
    assert quote_name(TYPED) == '"drivers/x\\\\xff.c"'
    assert quote_name("drivers/md/dm.c") == "drivers/md/dm.c"  # the common name stays as it is
    assert quote_name("drivers/md/café.c") == "drivers/md/café.c"  # readable UTF-8 stays
    assert quote_name('a"b.c') == '"a\\"b.c"'


def test_invisible_characters_are_shown() -> None:
    # A zero-width space, a bidi override and a no-break space would make a name look like
    # another one: each is shown as the octal of its UTF-8 bytes.
    assert quote_name("dm\u200b.c") == '"dm\\342\\200\\213.c"'
    assert quote_name("dm\u202e.c") == '"dm\\342\\200\\256.c"'
    assert quote_name("dm\u00a0.c") == '"dm\\302\\240.c"'
    assert quote_name("dm .c") == "dm .c"


@given(st.binary(max_size=40))
def test_a_shown_name_reads_back_into_its_bytes(name: bytes) -> None:
    # Reading back is a function of the shown text, so two different names never show alike.
    assert _bytes_of_shown_name(quote_name(decode_path(name))) == name


@given(st.binary(max_size=24), st.binary(max_size=24))
def test_two_different_names_never_show_the_same(first: bytes, second: bytes) -> None:
    if first != second:
        assert quote_name(decode_path(first)) != quote_name(decode_path(second))


def _bytes_of_shown_line(shown: str, escaped: bool) -> bytes:
    """A code line as a reader takes it back, knowing from the note whether it was escaped."""
    data = shown.encode("utf-8")
    if not escaped:
        return data
    out = bytearray()
    at = 0
    while at < len(data):
        if data[at : at + 1] == b"\\":
            following = data[at + 1 : at + 2]
            if following == b"\\":
                out += b"\\"
                at += 2
                continue
            digits = data[at + 1 : at + 4]
            assert len(digits) == 3 and all(0x30 <= d <= 0x37 for d in digits), shown
            out.append(int(digits, 8))
            at += 4
            continue
        out.append(data[at])
        at += 1
    return bytes(out)


@given(st.binary(max_size=40))
def test_a_shown_code_line_reads_back_given_the_note(line: bytes) -> None:
    text = decode_path(line)
    shown = escape_line(text)
    assert _bytes_of_shown_line(shown, has_raw_bytes(text)) == line
    if not has_raw_bytes(text):
        assert shown == text  # a line without an odd byte is exactly the file's


def test_the_look_alike_code_lines_show_differently() -> None:
    raw = decode_path(b'char *s = "\xff\\n";')
    typed = decode_path(b'char *s = "\\xff\\n";')
    assert escape_line(raw) == 'char *s = "\\377\\\\n";'  # and the note names this line
    assert escape_line(typed) == 'char *s = "\\xff\\n";'  # as the file says it
    assert has_raw_bytes(raw) and not has_raw_bytes(typed)


def test_quoting_matches_git_where_git_quotes(tmp_path: Path) -> None:
    # git (core.quotePath on, its default) octal-quotes every byte above 0x7f; patchsmith leaves
    # printable UTF-8 readable, so the two agree on names without it: those are compared here.
    names = [
        b"x\xff.c",
        b"x\\xff.c",
        b'a"b.c',
        b"tab\there.c",
        b"esc\x1b[8m.c",
        b"cr\r.c",
        b"bell\x07.c",
        b"plain.c",
        b"lat\xe9\x85.c",
    ]
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    for name in names:
        (repo / os.fsdecode(name)).write_bytes(b"x\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    listed = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.quotePath=true", "ls-files"],
        check=True,
        env=env,
        capture_output=True,
    ).stdout.decode("ascii")
    expected = sorted(listed.splitlines())
    assert sorted(quote_name(decode_path(name)) for name in names) == expected
