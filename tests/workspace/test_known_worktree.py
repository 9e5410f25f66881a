"""The gate right after a one-pass apply, answered from what apply wrote, is git's answer.

``apply`` asks the gate (``SessionStore.open_items``) what is open before it prints its summary.
After a one pass it answers from memory (``apply_patch_known``: the applied commit's files as
``git worktree add`` checked them out, and the conflict blocks and ``.rej`` files apply wrote
after it) instead of ``git status`` and a read of every touched file. A wrong answer there
would let an unresolved file through silently, so every generated apply here asks both ways
and the two lists must be equal, item for item: vendor files already holding conflict markers,
a patch adding marker lines, conflicts as ``.rej`` files and as conflict blocks (``--merge``), a
``.rej`` the patch itself touches, names equal but for case, a ``.gitattributes`` asking for
line-end conversion, executables and links. Where the in-memory answer could differ from git's
(those last ones), apply must not give one at all; the fixed cases below check that it does
not, and that it does give one for an ordinary apply (else the comparison would prove nothing).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchsmith.cli.common import read_index
from patchsmith.patchfile.select import Selection, select
from patchsmith.workspace import git
from patchsmith.workspace.apply import ApplyOptions, apply_patch_known
from patchsmith.workspace.regions import KnownWorktree
from patchsmith.workspace.session import Session, SessionStore, session_path

LINES = (
    b"int a;\n",
    b"int b;\n",
    b"\treturn 0;\n",
    b"}\n",
    b"<<<<<<< vendor\n",
    b">>>>>>> upstream-after\n",
    b"=======\n",
)
"""Lines files are made of: C-like ones, and conflict marker lines a file may already hold."""

PATHS = (
    "drivers/a.c",
    "drivers/a.c.rej",
    "drivers/b.c",
    "drivers/B.c",
    "lib/c.c",
    "lib/.gitattributes",
    "scripts/run.sh",
    "odd/\u00e9.c",
)
"""Paths a case may use: a .rej the patch touches, names equal but for case, attributes, a
name that is not ASCII."""

Files = dict[str, tuple[str, bytes]]
"""path -> (mode: ``file``, ``exec`` or ``link``, bytes or a link's target)."""


def _write(folder: Path, files: Files) -> None:
    for path, (mode, data) in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "link":
            os.symlink(data.decode(), target)
            continue
        target.write_bytes(data)
        target.chmod(0o755 if mode == "exec" else 0o644)


def _run(repo: Path, *args: str) -> bytes:
    environment = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=environment
    ).stdout


def _patch(folder: Path, vanilla: Files, upstream: Files) -> Path:
    """``git diff`` of vanilla to upstream."""
    repo = folder / "upstream"
    repo.mkdir()
    _write(repo, vanilla)
    _run(repo, "init", "-q")
    _run(repo, "add", "-A")
    _run(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "-m",
        "v",
        "--allow-empty",
    )
    for path in vanilla:
        (repo / path).unlink()
    _write(repo, upstream)
    _run(repo, "add", "-A")
    patch = folder / "upstream.patch"
    patch.write_bytes(_run(repo, "diff", "--cached", "HEAD"))
    return patch


def _apply(
    folder: Path, vendor: Files, patch: Path, merge: bool
) -> tuple[Session, KnownWorktree | None, SessionStore]:
    tree = folder / "vendor"
    tree.mkdir()
    _write(tree, vendor)
    index = read_index([str(patch)])
    options = ApplyOptions(branch="known/test", merge=merge, worktree=folder / "worktree")
    session, known = apply_patch_known(index, select(index, Selection()), tree, options)
    store = SessionStore(session_path(git.git_dir_of(Path(session.worktree))))
    return session, known, store


def _both(
    folder: Path, vanilla: Files, upstream: Files, vendor: Files, merge: bool
) -> KnownWorktree | None:
    """Apply; the gate asked from memory (when apply gives an answer) equals git's."""
    patch = _patch(folder, vanilla, upstream)
    if not patch.read_bytes():
        return None
    session, known, store = _apply(folder, vendor, patch, merge)
    from_git = store.open_items(session)
    if known is not None:
        assert store.open_items(session, known) == from_git
    return known


ORDINARY = ("drivers/a.c", "drivers/b.c", "lib/c.c", "scripts/run.sh")
ODD = ("drivers/a.c.rej", "drivers/B.c", "lib/.gitattributes", "odd/\u00e9.c")
"""Paths of the generated cases: most are ordinary; one in three cases adds an odd one."""


@st.composite
def _text(draw: st.DrawFn) -> bytes:
    """Distinct lines (so a hunk has one place), now and then a conflict marker line."""
    size = draw(st.integers(4, 12))
    return b"".join(
        draw(st.sampled_from(LINES)) if draw(st.integers(0, 5)) == 0 else b"int line_%d;\n" % n
        for n in range(size)
    )


def _edited(draw: st.DrawFn, data: bytes, at: int | None = None) -> bytes:
    """``data`` with one line replaced: line ``at`` (the line the other side edits, for a
    conflict), or any."""
    lines = data.splitlines(keepends=True)
    if at is None or at >= len(lines):
        at = draw(st.integers(0, len(lines) - 1))
    lines[at] = draw(st.sampled_from((*LINES, b"int vendor;\n", b"int upstream;\n")))
    return b"".join(lines)


@st.composite
def _case(draw: st.DrawFn) -> tuple[Files, Files, Files, bool]:
    chosen = draw(st.lists(st.sampled_from(ORDINARY), unique=True, min_size=1, max_size=4))
    if draw(st.integers(0, 2)) == 0:
        chosen.append(draw(st.sampled_from(ODD)))
    vanilla: Files = {}
    for path in chosen:
        if draw(st.integers(0, 3)) == 0 or path.endswith(".gitattributes"):
            continue  # created by upstream
        vanilla[path] = ("exec" if path.endswith(".sh") else "file", draw(_text()))
    upstream: Files = dict(vanilla)
    both = {path: draw(st.integers(0, 11)) for path in chosen}  # where both sides edit
    for path in chosen:
        kind = draw(st.sampled_from(["edit", "edit", "edit", "delete", "chmod", "link"]))
        if path.endswith(".gitattributes"):
            upstream[path] = ("file", draw(st.sampled_from([b"*.c eol=crlf\n", b"*.c diff=cpp\n"])))
        elif path not in vanilla:
            upstream[path] = ("file", draw(_text()))
        elif kind == "edit":
            edited = _edited(draw, _edited(draw, vanilla[path][1]), both[path])
            upstream[path] = (vanilla[path][0], edited)
        elif kind == "delete":
            del upstream[path]
        elif kind == "chmod":
            upstream[path] = ("exec", vanilla[path][1])
        elif kind == "link":
            upstream[path] = ("link", b"../lib/c.c")
    vendor: Files = {}
    for path, (mode, data) in vanilla.items():
        kind = draw(st.sampled_from(["same", "edit", "edit", "edit", "missing"]))
        if kind == "edit":
            vendor[path] = (mode, _edited(draw, data, both[path]))
        elif kind == "same":
            vendor[path] = (mode, data)
    for path in chosen:
        if path not in vanilla and draw(st.integers(0, 3)) == 0:
            vendor[path] = ("file", draw(_text()))  # the vendor has a file upstream creates
    return vanilla, upstream, vendor, draw(st.integers(0, 2)) > 0  # --merge, two in three


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_case())
def test_the_gate_from_memory_is_the_gate_from_git(
    tmp_path: Path, case: tuple[Files, Files, Files, bool]
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    vanilla, upstream, vendor, merge = case
    _both(folder, vanilla, upstream, vendor, merge)


# --- fixed cases: an answer where one is sure, none where git could differ ---------------------

CONFLICT = b"int a;\nint b;\n\treturn 0;\n}\n"


def _ordinary() -> tuple[Files, Files, Files]:
    """A clean hunk, a rejected one, and a vendor file holding a marker the patch never
    touches near (text of the vendor's, which the gate does not list: test_audit7_markers)."""
    vanilla: Files = {
        "drivers/a.c": ("file", CONFLICT),
        "drivers/b.c": ("file", CONFLICT * 3),
        "lib/c.c": ("file", b"int a;\n<<<<<<< vendor\nint b;\n" + CONFLICT * 2),
    }
    upstream: Files = {
        "drivers/a.c": ("file", CONFLICT.replace(b"int b;", b"int upstream;")),
        "drivers/b.c": ("file", CONFLICT * 2 + CONFLICT.replace(b"int a;", b"int c;")),
        "lib/c.c": (
            "file",
            b"int a;\n<<<<<<< vendor\nint b;\n" + CONFLICT + b"int z;\n" + CONFLICT,
        ),
        "scripts/run.sh": ("exec", b"echo run\n"),
    }
    vendor: Files = {
        "drivers/a.c": ("file", CONFLICT.replace(b"int b;", b"int vendor;")),
        "drivers/b.c": vanilla["drivers/b.c"],
        "lib/c.c": vanilla["lib/c.c"],
    }
    return vanilla, upstream, vendor


def test_an_ordinary_apply_is_answered_from_memory_and_still_lists_what_is_open(
    tmp_path: Path,
) -> None:
    for merge in (False, True):
        folder = tmp_path / str(merge)
        folder.mkdir()
        vanilla, upstream, vendor = _ordinary()
        patch = _patch(folder, vanilla, upstream)
        session, known, store = _apply(folder, vendor, patch, merge)
        assert known is not None
        items = store.open_items(session, known)
        assert items == store.open_items(session)
        kinds = {(item.kind, item.path) for item in items}
        assert ("marker", "lib/c.c") not in kinds  # the vendor's own marker line: text
        assert ("hunk", "drivers/a.c") in kinds
        assert (("marker", "drivers/a.c") if merge else ("reject", "drivers/a.c.rej")) in kinds
        if merge:
            assert known.changed == {"drivers/a.c"}


def _not_known(tmp_path: Path, vanilla: Files, upstream: Files, vendor: Files) -> None:
    for merge in (False, True):
        folder = tmp_path / str(merge)
        folder.mkdir()
        assert _both(folder, vanilla, upstream, vendor, merge) is None


def test_a_gitattributes_asking_for_conversion_leaves_the_gate_to_git(tmp_path: Path) -> None:
    vanilla, upstream, vendor = _ordinary()
    upstream["drivers/.gitattributes"] = ("file", b"*.c eol=crlf\n")
    _not_known(tmp_path, vanilla, upstream, vendor)


def test_names_equal_but_for_case_leave_the_gate_to_git(tmp_path: Path) -> None:
    vanilla, upstream, vendor = _ordinary()
    upstream["drivers/A.c"] = ("file", b"int other;\n")
    _not_known(tmp_path, vanilla, upstream, vendor)


def test_a_link_leaves_the_gate_to_git(tmp_path: Path) -> None:
    vanilla, upstream, vendor = _ordinary()
    upstream["drivers/link.c"] = ("link", b"a.c")
    _not_known(tmp_path, vanilla, upstream, vendor)


def test_a_reject_written_over_a_touched_path_leaves_the_gate_to_git(tmp_path: Path) -> None:
    vanilla, upstream, vendor = _ordinary()
    # The patch touches drivers/a.c.rej too, and apply writes a.c's rejected hunk there.
    vanilla["drivers/a.c.rej"] = ("file", b"old notes\n")
    upstream["drivers/a.c.rej"] = ("file", b"new notes\n")
    vendor["drivers/a.c.rej"] = ("file", b"old notes\n")
    folder = tmp_path / "rejects"
    folder.mkdir()
    assert _both(folder, vanilla, upstream, vendor, merge=False) is None


def test_a_folder_made_for_a_reject_is_seen_where_a_reject_would_be(tmp_path: Path) -> None:
    # drivers/x.rej/y.c is missing from the vendor's tree: its hunk goes to a .rej inside a
    # folder drivers/x.rej that apply makes, which the gate then finds as drivers/x's reject.
    vanilla: Files = {"drivers/x": ("file", CONFLICT), "drivers/x.rej/y.c": ("file", CONFLICT)}
    upstream: Files = {
        "drivers/x": ("file", CONFLICT.replace(b"int a;", b"int x;")),
        "drivers/x.rej/y.c": ("file", CONFLICT.replace(b"int a;", b"int y;")),
    }
    vendor: Files = {"drivers/x": vanilla["drivers/x"]}
    for merge in (False, True):
        folder = tmp_path / str(merge)
        folder.mkdir()
        _both(folder, vanilla, upstream, vendor, merge)
