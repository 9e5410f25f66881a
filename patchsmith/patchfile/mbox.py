"""The mails of an input: the messages of an mbox or ``git format-patch`` output.

Once the scanner has found the file diffs of an input, :func:`_mails` looks for mail headers
(``From <hash> <date>``, then ``Subject:``, ``From:``, ``Date:``) in the text between them, and
the index (:mod:`patchsmith.patchfile.index`) assigns each file diff the mail it follows.

Mails are read as they are written, never decoded: the index points at the input's own bytes.
A diff inside a base64 or quoted-printable part (an attached patch, a mailer that encodes
``=`` as ``=3D``) is not those bytes, so :func:`encoded_diff` finds such a part and the index
refuses the input, instead of reading an attachment as nothing or ``=3D`` as program text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.entries import Mail
from patchsmith.patchfile.scan import _Lines
from patchsmith.patchfile.source import PatchSource

# The email package is imported only for a mail with an encoded part: it is some 20 ms of
# imports (socket, datetime, urllib, calendar, random among them), half of filter's start-up.
TYPE_CHECKING = False  # mypy reads it as true
if TYPE_CHECKING:
    from email.message import Message

# --- regular expressions; each comment shows a line it matches ---------------------------------

# From 3f1e4c2a9b1d0e5f6a7b8c9d0e1f2a3b4c5d6e7f Mon Sep 17 00:00:00 2001
# From someone@example.org Thu Jan  1 00:00:00 2026
_MBOX_FROM = re.compile(
    rb"^From \S+ +[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?: [+-]\d{4})? \d{4}\r?$",
    re.M,
)

# Subject: [PATCH 2/7] dm snapshot: fix a race          Date: Mon, 4 Sep 2006 ...
# (this and _DIFF_LINE are compiled on first use, by re's own cache: most patches hold no mail)
_MAIL_HEADER = rb"(?m)^(Subject|From|Date): ?(.*(?:\r?\n[ \t].*)*)"


# Content-Transfer-Encoding: quoted-printable         (a mail's or a MIME part's header)
_ENCODED_PART = re.compile(
    rb"^Content-Transfer-Encoding:[ \t]*(?:base64|quoted-printable)[ \t]*\r?$", re.M | re.I
)

# --- a/drivers/md/dm.c    +++ b/drivers/md/dm.c    @@ -1 +1 @@    diff --git a/x b/x    Index: x
_DIFF_LINE = rb"(?m)^(?:--- |\+\+\+ |@@ -|diff --git |Index: |\*\*\* )"


def encoded_diff(source: PatchSource, gaps: Sequence[tuple[int, int]]) -> None:
    """Refuse (:class:`PatchParseError`) a mail with a diff in a base64 part, or in a
    quoted-printable part whose encoding changed a byte.

    Evidence for refusing: a ``Content-Transfer-Encoding`` header in ``gaps`` (the text outside
    the file diffs the scanner found, where mail and part headers are), and, in the mail it
    belongs to, a part whose decoded body has a diff line and differs from its bytes as written.
    Against: no such header (a plain mail, ``git format-patch`` output), or the encoded parts
    hold no diff (an attached logo) or read the same decoded (quoted-printable with nothing
    to escape): the diffs the scanner read are then the mail's own text, byte for byte.
    """
    data = source.data
    headers = [m.start() for gap in gaps for m in _ENCODED_PART.finditer(data, *gap)]
    if not headers:
        return
    separators = [m.start() for m in _MBOX_FROM.finditer(data)]
    checked: set[int] = set()
    for at in headers:
        start = max((s for s in separators if s <= at), default=0)
        if start in checked:
            continue
        checked.add(start)
        end = min((s for s in separators if s > at), default=len(data))
        import email.parser
        import email.policy

        mail = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data[start:end])
        for part in mail.walk():
            encoding = _encoding_of(part)
            if encoding is None:
                continue
            decoded = part.get_payload(decode=True)
            written = str(part.get_payload()).encode("ascii", "surrogateescape")
            if isinstance(decoded, bytes) and decoded != written and re.search(_DIFF_LINE, decoded):
                attached = part.get_filename() or (
                    "an attachment" if part.get_content_disposition() == "attachment" else None
                )
                what = f"the attached {attached!r}" if attached else "its diff"
                raise PatchParseError(
                    f"a mail holds a patch patchsmith cannot read as written: {what} is "
                    f"{encoding}-encoded (read as is, "
                    + (
                        "the patch would be lost"
                        if encoding == "base64"
                        else "'=3D' would be taken for program text"
                    )
                    + ")",
                    source=source.name,
                    line=data.count(b"\n", 0, at) + 1,
                    hint="decode it first: 'git mailinfo MSG fix.patch < MAIL' writes the mail's"
                    " patch to fix.patch ('git mailsplit -o DIR MBOX' splits an mbox into mails);"
                    " pass that file",
                )


def _encoding_of(part: Message) -> str | None:
    """``base64`` or ``quoted-printable`` for a leaf part so encoded, else ``None``."""
    if part.is_multipart():
        return None
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    return encoding if encoding in ("base64", "quoted-printable") else None


def between(starts: Sequence[int], ends: Sequence[int], length: int) -> list[tuple[int, int]]:
    """The spans of an input of ``length`` bytes outside its file diffs (``starts``, ``ends``)."""
    gaps: list[tuple[int, int]] = []
    previous_end = 0
    for start, end in zip(starts, ends, strict=True):
        if start > previous_end:
            gaps.append((previous_end, start))
        previous_end = end
    gaps.append((previous_end, length))
    return gaps


def _mails(
    source: PatchSource, number: int, starts: Sequence[int], ends: Sequence[int]
) -> list[Mail]:
    """The mails of an mbox, found in the text between file diffs: no line of a file diff (a
    header, a hunk, base85) starts with "From ", and a 40 MB patch has next to no such text."""
    data = source.data
    gaps = between(starts, ends, len(data))
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
        for match in re.finditer(_MAIL_HEADER, head):
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
