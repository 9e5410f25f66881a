"""How a name or a code line that may hold any byte is shown to a person: two different ones
never look the same.

A name in a patch is bytes (:mod:`patchsmith.patchfile.names` reads it with surrogateescape, so
a byte that is not UTF-8 is a surrogate ``\\udcNN``). Shown to a reviewer, the name
``drivers/x<byte 0xff>.c`` and the name ``drivers/x\\xff.c`` (a backslash, x, f, f typed) must not
both read ``drivers/x\\xff.c``. Two rules, one per kind of text:

* **Names** (:func:`quote_name`) are quoted as ``git diff`` and ``git status`` quote them: a name
  with nothing unusual stays as it is; any other is put in double quotes, with a byte that is not
  UTF-8 as ``\\377`` (octal), a control character as ``\\n``, ``\\t``... or octal, an invisible
  character (a zero-width space, a bidi override, a no-break space) as the octal of its UTF-8
  bytes, and ``\\"`` and ``\\\\`` for a quote and a backslash. A name shown as is never holds a
  quote or a backslash, and a quoted one reads back into its bytes
  (:func:`patchsmith.patchfile.names.unquote_c` reads it), so two names never show the same.
  Printable non-ASCII (``café.c``) stays readable, as with git's ``core.quotePath=false``.
* **Code lines** (:func:`escape_line`) are left exactly as they are unless they hold a byte that
  is not UTF-8; such a line shows the byte as ``\\377`` and each of its backslashes as ``\\\\``,
  and the renderer names the lines it escaped in a note under the block. Quoting a code line as a
  name (in double quotes) would make ``printk("%s\\n", x)`` unreadable on every line a reviewer
  reads, and escaping the backslashes of every line would change the C a reviewer reads in all
  the lines that have no odd byte at all: a kernel reviewer reads diffs whose C escapes must look
  like C. So only the rare line with a raw byte changes, it reads as git would quote it, and the
  note says which lines those are, so ``\\377`` on a line not named there is what the file says.

Nothing here depends on anything else in patchsmith: the CLI tables, the reports and the TUI all
show names through it.
"""

from __future__ import annotations

__all__ = ["escape_line", "has_raw_bytes", "quote_name"]

_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _octal(character: str) -> str:
    return "".join(f"\\{byte:03o}" for byte in character.encode("utf-8", "surrogatepass"))


def _name_escape(character: str) -> str | None:
    """How ``character`` is written inside a quoted name, or ``None`` when it stays itself."""
    escape = _C_ESCAPES.get(character)
    if escape is not None:
        return escape
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\{code - 0xDC00:03o}"  # the byte surrogateescape kept
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"  # a lone surrogate no byte string decodes to
    if character == " " or character.isprintable():
        return None
    return _octal(character)


def quote_name(name: str) -> str:
    """``name`` as ``git status`` would show it: as it is, or in double quotes with escapes.

    ``quote_name("drivers/md/dm.c") == "drivers/md/dm.c"``;
    ``quote_name("drivers/x\\udcff.c") == '"drivers/x\\\\377.c"'``;
    ``quote_name("drivers/x\\\\xff.c") == '"drivers/x\\\\\\\\xff.c"'``.
    """
    parts: list[str] = []
    quoted = False
    for character in name:
        escape = _name_escape(character)
        if escape is None:
            parts.append(character)
        else:
            parts.append(escape)
            quoted = True
    return f'"{"".join(parts)}"' if quoted else name


def has_raw_bytes(text: str) -> bool:
    """Whether ``text`` (decoded with surrogateescape) holds a byte that is not UTF-8."""
    return any(0xDC80 <= ord(character) <= 0xDCFF for character in text)


def escape_line(text: str) -> str:
    """A code line as shown: itself, or, when it holds a byte that is not UTF-8, each such byte
    as ``\\ooo`` and each backslash as ``\\\\`` (the caller names the line as escaped)."""
    if not has_raw_bytes(text):
        return text
    return "".join(
        f"\\{ord(c) - 0xDC00:03o}" if 0xDC80 <= ord(c) <= 0xDCFF else "\\\\" if c == "\\" else c
        for c in text
    )
