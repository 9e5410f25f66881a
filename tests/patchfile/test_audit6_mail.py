"""Sixth audit: a patch inside an encoded mail is refused, never read as its encoded bytes.

The index reads mails as written (its offsets point into the input). A diff in a base64 part
reads as no diff at all (an attached patch silently dropped beside an inline one), and one in a
quoted-printable part reads as ``=3D`` where the program has ``=``: ``check`` said "clean" for
``+	return c =3D=3D 3;``. Refusing is right when a part's decoded body has a diff and differs
from its bytes; a plain mail, a quoted-printable body with nothing escaped, a base64 logo, and
a diff of a file that itself holds the header's text are read as before.
"""

from __future__ import annotations

import email.message
import quopri

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchsmith.errors import PatchParseError
from patchsmith.patchfile.index import index_bytes

SEPARATOR = "From 3f1e4c2a9b1d0e5f6a7b8c9d0e1f2a3b4c5d6e7f Mon Sep 17 00:00:00 2001\n"

DIFF = """\
--- a/drivers/md/dm.c
+++ b/drivers/md/dm.c
@@ -11,4 +11,4 @@
 int c(void)
 {
-\treturn 3;
+\treturn c == 3;
 }
"""

SECOND = DIFF.replace("dm.c", "dm-io.c")


def mail(body: str, encoding: str = "7bit", attachment: str | None = None) -> bytes:
    """One mbox message as git send-email or a mail program would write it."""
    message = email.message.EmailMessage()
    message["From"] = "Jane Developer <jane@example.org>"
    message["Subject"] = "[PATCH] dm: compare c"
    message["Date"] = "Mon, 04 Sep 2006 10:00:00 +0000"
    message.set_content(body, cte=encoding)
    if attachment is not None:
        message.add_attachment(
            attachment.encode(), maintype="text", subtype="x-patch", filename="two.patch"
        )
    return (SEPARATOR + message.as_string()).encode()


def test_quoted_printable_diff_is_refused_not_read_as_equals_3d() -> None:
    data = mail("Compare c.\n---\n" + DIFF, "quoted-printable")
    assert b"c =3D=3D 3" in data  # the trap: without the check this indexes "clean"
    with pytest.raises(PatchParseError) as caught:
        index_bytes(data, "dm.mbox")
    assert "quoted-printable" in caught.value.message
    assert "git mailinfo" in (caught.value.hint or "")


def test_base64_diff_is_refused_not_reported_as_no_diff() -> None:
    with pytest.raises(PatchParseError) as caught:
        index_bytes(mail("Compare c.\n---\n" + DIFF, "base64"), "dm.mbox")
    assert "base64" in caught.value.message


def test_an_attached_patch_beside_an_inline_one_is_not_dropped() -> None:
    data = mail("Compare c.\n---\n" + DIFF, attachment=SECOND)
    with pytest.raises(PatchParseError) as caught:
        index_bytes(data, "dm.mbox")
    assert "two.patch" in caught.value.message
    # the line named is the attachment's Content-Transfer-Encoding header
    line = data.split(b"\n")[caught.value.line - 1]
    assert line.lower().startswith(b"content-transfer-encoding: base64")


def test_the_encoded_mail_is_found_among_plain_ones() -> None:
    plain = mail("First.\n---\n" + SECOND)
    with pytest.raises(PatchParseError):
        index_bytes(plain + b"\n" + mail("Second.\n---\n" + DIFF, "quoted-printable"), "s.mbox")


def test_quoted_printable_with_nothing_escaped_is_read_as_written() -> None:
    plain_diff = DIFF.replace("c == 3", "c > 3")
    data = mail("Compare c.\n---\n" + plain_diff, "quoted-printable")
    index = index_bytes(data, "dm.mbox")
    assert [f.path for f in index.files] == ["b/drivers/md/dm.c"]
    assert index.data(index.files[0]).endswith(b"+\treturn c > 3;\n }\n")


def test_a_base64_logo_beside_a_plain_patch_is_no_reason_to_refuse() -> None:
    message = email.message.EmailMessage()
    message["Subject"] = "[PATCH] dm: compare c"
    message.set_content("Compare c.\n---\n" + DIFF)
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image", "png")
    index = index_bytes((SEPARATOR + message.as_string()).encode(), "dm.mbox")
    assert index.files[0].added == 1


def test_a_diff_of_a_file_that_holds_the_header_text_is_read() -> None:
    diff = """\
--- a/scripts/mail.txt
+++ b/scripts/mail.txt
@@ -1,2 +1,2 @@
 Content-Transfer-Encoding: base64
-old
+new
"""
    data = mail("Mail doc.\n---\n" + diff)
    assert len(index_bytes(data, "doc.mbox").files) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("ab =\t;é{}")),
            min_size=0,
            max_size=90,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_quoted_printable_patch_is_refused_or_read_byte_for_byte(added: list[str]) -> None:
    """Whatever the added lines hold (``=``, trailing blanks, non-ASCII, lines long enough for
    a soft break): either the input is refused, or every added line reads exactly as the
    author wrote it."""
    body = "".join(f"+{line}\n" for line in added)
    diff = f"--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,{len(added) + 1} @@\n keep\n{body}"
    data = mail("Lines.\n---\n" + diff, "quoted-printable")
    try:
        index = index_bytes(data, "x.mbox")
    except PatchParseError:
        return
    read = index.data(index.files[0])
    assert read.endswith(body.encode()), (quopri.encodestring(body.encode()), read)
