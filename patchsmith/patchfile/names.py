"""Path names in patch headers: bytes to ``str`` and back without loss, and names from headers.

A path in a patch is bytes in no particular encoding. :func:`decode_path` makes a ``str`` that
:func:`encode_path` turns back into the same bytes (``surrogateescape``), so a Latin-1 name
survives a round trip. git C-quotes a name with unusual bytes (:func:`unquote_c`); a
``diff --git`` line names two paths that may contain spaces (:func:`_git_line_names`); a
``---``/``+++``/``***`` line may end in a timestamp after a tab or spaces (:func:`_header_name`).

The scanner (:mod:`patchsmith.patchfile.scan`), the index's lazy file list
(:mod:`patchsmith.patchfile.index`) and selection (:mod:`patchsmith.patchfile.select`) all use
these, so this module sits below all of them. The underscore names are private to
:mod:`patchsmith.patchfile`, not to this module.
"""

from __future__ import annotations

import re

_C_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
    ord('"'): ord('"'),
    ord("\\"): ord("\\"),
}


def decode_path(raw: bytes) -> str:
    """Bytes of a path as a ``str`` that encodes back to the same bytes (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_path(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _decode_or_none(raw: bytes | None) -> str | None:
    return None if raw is None else decode_path(raw)


def unquote_c(text: bytes) -> tuple[bytes, int]:
    """Read a C-quoted name at the start of ``text`` (``"a/caf\\303\\251"``).

    Returns the unescaped bytes and how many bytes of ``text`` the quoted name used.
    """
    out = bytearray()
    i = 1
    while i < len(text):
        char = text[i]
        if char == ord('"'):
            return bytes(out), i + 1
        if char == ord("\\") and i + 1 < len(text):
            nxt = text[i + 1]
            if 0x30 <= nxt <= 0x37:
                digits = text[i + 1 : i + 4]
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
                continue
            out.append(_C_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    raise ValueError("unterminated quoted name")


def _header_name(rest: bytes) -> str | None:
    """The path of a ``---``/``+++``/``***`` line after its marker; ``None`` for /dev/null.

    The name ends at a tab (``diff -u`` puts the timestamp after one); a quoted name is unquoted.
    """
    rest = rest.rstrip(b"\r\n")
    if rest.startswith(b'"'):
        try:
            name, _used = unquote_c(rest)
        except ValueError:
            name = rest
    else:
        name = rest.split(b"\t", 1)[0]
        if b"\t" not in rest:
            # diff -u writes "name  2006-09-12 ..." with spaces when asked for no tab; git
            # writes a bare name. Only strip a trailing timestamp we recognise.
            name = _strip_space_timestamp(name)
    if name == b"/dev/null":
        return None
    return decode_path(name)


# --- a/foo.c  2006-09-12 20:02:10.000000000 +0200  (a timestamp after spaces instead of a tab)
# (compiled on first use, by re's own cache: a name with a space is rare, and compiling it cost
# every start-up 0.2 ms)
_SPACE_TIMESTAMP = rb"^(.*?) +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?$"


def _strip_space_timestamp(name: bytes) -> bytes:
    if b" " not in name:  # the common name: no timestamp after spaces can be in it
        return name
    match = re.match(_SPACE_TIMESTAMP, name)
    return match.group(1) if match else name


def _git_line_names(rest: bytes) -> tuple[str | None, str | None]:
    """The two names of a ``diff --git`` line (after ``diff --git ``)."""
    rest = rest.rstrip(b"\r\n")
    try:
        if rest.startswith(b'"'):
            old, used = unquote_c(rest)
            tail = rest[used:].lstrip(b" ")
            new = unquote_c(tail)[0] if tail.startswith(b'"') else tail
            return decode_path(old), decode_path(new)
        if rest.endswith(b'"'):
            quote = rest.rfind(b' "')
            new, _used = unquote_c(rest[quote + 1 :])
            return decode_path(rest[:quote]), decode_path(new)
    except ValueError:
        pass
    # Unquoted names may contain spaces: choose the split where both sides name the same path
    # after their first component (a/x b/x), as git itself does. The common line is two names
    # of one length with the only space between them: that split, found without a loop.
    middle = len(rest) // 2
    if rest[middle : middle + 1] == b" " and b" " not in rest[:middle]:
        old, new = rest[:middle], rest[middle + 1 :]
        tail = old.partition(b"/")[2]
        if tail and tail == new.partition(b"/")[2]:
            return decode_path(old), decode_path(new)
    spaces = [i for i, c in enumerate(rest) if c == 0x20]
    for i in spaces:
        old, new = rest[:i], rest[i + 1 :]
        if old.partition(b"/")[2] == new.partition(b"/")[2] and old.partition(b"/")[2]:
            return decode_path(old), decode_path(new)
    marker = rest.find(b" b/")
    if marker >= 0:
        return decode_path(rest[:marker]), decode_path(rest[marker + 1 :])
    if spaces:
        middle = spaces[len(spaces) // 2]
        return decode_path(rest[:middle]), decode_path(rest[middle + 1 :])
    return decode_path(rest), decode_path(rest)
