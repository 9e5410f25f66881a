"""The mails of an input: the messages of an mbox or ``git format-patch`` output.

Once the scanner has found the file diffs of an input, :func:`_mails` looks for mail headers
(``From <hash> <date>``, then ``Subject:``, ``From:``, ``Date:``) in the text between them, and
the index (:mod:`patchsmith.patchfile.index`) assigns each file diff the mail it follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from patchsmith.patchfile.entries import Mail
from patchsmith.patchfile.scan import _Lines
from patchsmith.patchfile.source import PatchSource

# --- regular expressions; each comment shows a line it matches ---------------------------------

# From 3f1e4c2a9b1d0e5f6a7b8c9d0e1f2a3b4c5d6e7f Mon Sep 17 00:00:00 2001
# From someone@example.org Thu Jan  1 00:00:00 2026
_MBOX_FROM = re.compile(
    rb"^From \S+ +[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?: [+-]\d{4})? \d{4}\r?$",
    re.M,
)

# Subject: [PATCH 2/7] dm snapshot: fix a race          Date: Mon, 4 Sep 2006 ...
_MAIL_HEADER = re.compile(rb"^(Subject|From|Date): ?(.*(?:\r?\n[ \t].*)*)", re.M)


def _mails(
    source: PatchSource, number: int, starts: Sequence[int], ends: Sequence[int]
) -> list[Mail]:
    """The mails of an mbox, found in the text between file diffs: no line of a file diff (a
    header, a hunk, base85) starts with "From ", and a 40 MB patch has next to no such text."""
    data = source.data
    gaps: list[tuple[int, int]] = []
    previous_end = 0
    for start, end in zip(starts, ends, strict=True):
        if start > previous_end:
            gaps.append((previous_end, start))
        previous_end = end
    gaps.append((previous_end, len(data)))
    starts = [m.start() for gap in gaps for m in _MBOX_FROM.finditer(data, *gap)]
    if not starts:
        return []
    mails: list[Mail] = []
    lines = _Lines(data)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        blank = data.find(b"\n\n", start, end)
        head = data[start : blank if blank >= 0 else end]
        fields: dict[bytes, str] = {}
        for match in _MAIL_HEADER.finditer(head):
            if match.group(1) not in fields:
                value = re.sub(rb"\r?\n[ \t]+", b" ", match.group(2)).strip()
                fields[match.group(1)] = value.decode("utf-8", "replace")
        mails.append(
            Mail(
                source=number,
                start=start,
                line=lines.at(start),
                subject=fields.get(b"Subject", ""),
                author=fields.get(b"From", ""),
                date=fields.get(b"Date", ""),
            )
        )
    return mails
