"""GNU patch's reject format: the ``.rej`` text for hunks that were not applied.

What ``patch`` 2.7 writes is what people and tools (wiggle, quilt, editors' reject browsers)
read, so a hunk is written here byte for byte as ``patch`` would: the header's line numbers
shifted by what was applied above it, removed lines before added ones in each change, the
function name after ``@@`` and ``\\ No newline at end of file`` markers kept.
"""

from __future__ import annotations

import re

from patchsmith.patchfile.hunk import Hunk


def _range(start: int, count: int) -> str:
    """GNU patch's ``print_unidiff_range``."""
    if count == 0:
        return f"{start - 1},0"
    if count == 1:
        return str(start)
    return f"{start},{count}"


def header_line(raw_header: bytes, tag: bytes, path: str) -> bytes:
    """``--- PATH<timestamp>`` as GNU patch writes it in a ``.rej`` (the name replaced by the
    file it patched, the rest of the patch's header line kept)."""
    for line in raw_header.splitlines(keepends=True):
        if line.startswith(tag + b" "):
            rest = line[len(tag) + 1 :].rstrip(b"\r\n")
            timestamp = rest[rest.index(b"\t") :] if b"\t" in rest else b""
            return tag + b" " + path.encode("utf-8", "surrogateescape") + timestamp + b"\n"
    return tag + b" " + path.encode("utf-8", "surrogateescape") + b"\n"


def reject_header(raw_header: bytes, path: str) -> bytes:
    """The ``---``/``+++`` pair that opens a ``.rej`` for ``path``."""
    return header_line(raw_header, b"---", path) + header_line(raw_header, b"+++", path)


# The tail of a unified hunk header (the function name GNU patch copies into the .rej):
#   @@ -17,7 +19,7 @@ static int dm_table_add_target(...)
_HUNK_TAIL = re.compile(rb"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@([^\r\n]*)")


def reject_hunk(raw: bytes, hunk: Hunk, out_offset: int) -> bytes:
    """One hunk as GNU patch 2.7 writes it to a ``.rej``: the line numbers shifted by what was
    applied above it, removed lines before added ones in each change, ``\\ No newline``
    markers kept."""
    lines = raw.splitlines(keepends=True)
    match = _HUNK_TAIL.match(lines[0]) if lines else None
    tail = match.group(1) if match else b""
    old_start = hunk.old_start + (1 if hunk.old_count == 0 else 0) + out_offset
    new_start = hunk.new_start + (1 if hunk.new_count == 0 else 0) + out_offset
    header = (
        f"@@ -{_range(old_start, hunk.old_count)} +{_range(new_start, hunk.new_count)} @@".encode()
        + tail
        + b"\n"
    )
    body: list[bytes] = []
    removed: list[bytes] = []
    added: list[bytes] = []

    def flush() -> None:
        body.extend(removed)
        body.extend(added)
        removed.clear()
        added.clear()

    previous: list[bytes] | None = None
    for line in lines[1:]:
        first = line[:1]
        if first == b"\\":
            if previous is not None:
                previous.append(line)
            continue
        if first == b"-":
            removed.append(line)
            previous = removed
        elif first == b"+":
            added.append(line)
            previous = added
        else:
            flush()
            body.append(line if first == b" " else b" " + line)
            previous = body
    flush()
    return header + b"".join(body)
