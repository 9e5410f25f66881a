"""Hostile patches and odd trees: apply writes inside its worktree only, check says the same.

Each case is a patch someone could send on purpose (a symlink it creates, then a file beyond
it; a name with ``..``; a path into ``.git``) or a tree a vendor really has (a symlinked file,
a folder that is a link, a file the vendor deleted). For each, the test checks what lands
outside the worktree (nothing: an ``lstat`` + content snapshot of the tree and of a sentinel
folder), that ``check`` and ``apply`` give every hunk the same status, and that the session
ends ``ready`` with the items open, never stuck in ``applying``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from patchsmith.cli import main
from patchsmith.errors import TreeError
from patchsmith.model import HunkStatus
from patchsmith.workspace import git
from patchsmith.workspace.session import Phase, SessionStore, session_path
from tests.support.trees import fingerprint
from tests.support.trees import git as run_git

MODIFY = """\
diff --git a/{path} b/{path}
--- a/{path}
+++ b/{path}
@@ -1,3 +1,3 @@
 a
-b
+B
 c
"""

NEW_FILE = """\
diff --git a/{path} b/{path}
new file mode 100644
--- /dev/null
+++ b/{path}
@@ -0,0 +1 @@
+{text}
"""

NEW_LINK = """\
diff --git a/{path} b/{path}
new file mode 120000
--- /dev/null
+++ b/{path}
@@ -0,0 +1 @@
+{target}
\\ No newline at end of file
"""


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    """A tree with drivers/md/x.c and a sentinel folder beside it with a file a hostile
    patch would like to overwrite."""
    tree = tmp_path / "tree"
    (tree / "drivers/md").mkdir(parents=True)
    (tree / "drivers/md/x.c").write_text("a\nb\nc\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.c").write_text("a\nb\nc\n")
    return tree, outside


class _Outputs:
    """What ``check --json`` and ``apply --json`` said on the same tree, read only when a
    test asks (so a test looks at what landed on disk first, whatever apply printed)."""

    def __init__(self, check: str, apply: str, check_code: int, apply_code: int) -> None:
        self.check_text, self.apply_text = check, apply
        self.check_code, self.apply_code = check_code, apply_code

    @property
    def checked(self) -> dict[str, Any]:
        return dict(json.loads(self.check_text))

    @property
    def applied(self) -> dict[str, Any]:
        return dict(json.loads(self.apply_text))


def _run(tmp_path: Path, patch: str, tree: Path, capsys: pytest.CaptureFixture[str]) -> _Outputs:
    """``check --json`` and ``apply --json`` on the same tree."""
    patch_file = tmp_path / "hostile.diff"
    patch_file.write_text(patch)
    capsys.readouterr()
    check_code = main(["check", str(patch_file), "--tree", str(tree), "--json"])
    check = capsys.readouterr().out
    worktree = tmp_path / "w" / "x" / "wt"
    apply_code = main(
        ["apply", str(patch_file), "--tree", str(tree), "--worktree", str(worktree), "--json"]
    )
    return _Outputs(check, capsys.readouterr().out, check_code, apply_code)


def _statuses(outputs: _Outputs) -> None:
    """Every hunk has the same status, flag and reason in apply's session as in check."""
    predicted = {
        (f["entry"], h["index"]): (h["status"], h["needs_review"], h["reason"])
        for f in outputs.checked["files"]
        for h in f["hunks"]
    }
    recorded = {
        (h["file_number"], h["number"]): (h["status"], h["needs_review"], h["reason"])
        for h in outputs.applied["hunks"]
        if h["number"]
    }
    assert recorded == predicted


@pytest.mark.parametrize(
    "target",
    ["{outside}", "../../..", "../../../outside", "../../../../x/wt-escape"],
    ids=["absolute", "dotdot-up", "dotdot-sideways", "dotdot-far"],
)
@pytest.mark.parametrize("form", ["plain", "git"])
def test_a_link_the_patch_creates_is_never_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, form: str
) -> None:
    tree, outside = _layout(tmp_path)
    if form == "git":
        run_git(tree, "init", "-q")
        run_git(tree, "add", "-A")
        run_git(tree, "commit", "-q", "-m", "vendor")
    link = target.format(outside=outside)
    patch = (
        NEW_LINK.format(path="drivers/evil", target=link)
        + NEW_FILE.format(path="drivers/evil/x.c", text="pwned")
        + MODIFY.format(path="drivers/evil/x.c")
    )
    before_tree, before_outside = fingerprint(tree), fingerprint(tmp_path / "outside")
    before_parent = fingerprint(tmp_path / "w")
    outputs = _run(tmp_path, patch, tree, capsys)
    assert fingerprint(tmp_path / "outside") == before_outside
    assert (outside / "x.c").read_text() == "a\nb\nc\n"
    tree_now = fingerprint(tree)
    if form == "git":
        tree_now = {k: v for k, v in tree_now.items() if not k.startswith(".git")}
        before_tree = {k: v for k, v in before_tree.items() if not k.startswith(".git")}
    assert tree_now == before_tree
    # The worktree's own folders are new; nothing else appeared beside it.
    after_parent = {k: v for k, v in fingerprint(tmp_path / "w").items() if k != "x/wt"}
    after_parent = {k: v for k, v in after_parent.items() if not k.startswith("x/wt/")}
    assert after_parent == before_parent | {"x": after_parent["x"]}
    assert outputs.check_code == outputs.apply_code == 1
    _statuses(outputs)
    evil, beyond, modify = (f["hunks"][0] for f in outputs.checked["files"])
    assert beyond["status"] == modify["status"] == str(HunkStatus.CONFLICT)
    assert "drivers/evil is a symlink created by an earlier diff" in beyond["reason"]
    if link.startswith("/") or target.count("..") >= 3:
        assert evil["status"] == str(HunkStatus.CONFLICT)
        assert "outside the tree" in evil["reason"]
    assert outputs.applied["phase"] == Phase.READY
    assert all(h["needs_review"] for h in outputs.applied["hunks"])


def test_a_link_inside_the_tree_is_made_and_still_never_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A link that stays inside is a fair thing for a patch to create (the kernel's dts
    # include-prefixes): it is made. A later diff beyond it is still an item, and no .rej can
    # go beside a path beyond a link without writing through it.
    tree, _outside = _layout(tmp_path)
    patch = NEW_LINK.format(path="drivers/alias", target="md") + MODIFY.format(
        path="drivers/alias/x.c"
    )
    outputs = _run(tmp_path, patch, tree, capsys)
    _statuses(outputs)
    worktree = Path(outputs.applied["worktree"])
    assert os.readlink(worktree / "drivers/alias") == "md"
    # The target file was not touched through the alias.
    assert (worktree / "drivers/md").exists() is False or (
        (worktree / "drivers/md/x.c").read_text() == "a\nb\nc\n"
    )
    files = {f["path"]: f for f in outputs.applied["files"]}
    assert files["drivers/alias/x.c"]["rejects"] == []
    assert not os.path.lexists(worktree / "drivers/md/x.c.rej")


@pytest.mark.parametrize("kind", ["file-link", "folder-link"])
def test_a_link_in_the_tree_gets_the_same_verdict_from_check_and_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    # issue 13.3: check said clean (read through the link) and apply said missing-file (the
    # sparse worktree held the link, not its target); a new file over the link was
    # file-exists in check and written over the link in apply.
    tree, _outside = _layout(tmp_path)
    if kind == "file-link":
        os.symlink("x.c", tree / "drivers/md/in.c")
        path = "drivers/md/in.c"
    else:
        os.symlink("md", tree / "drivers/alias")
        path = "drivers/alias/x.c"
    patch = MODIFY.format(path=path) + NEW_FILE.format(path=path.replace("x.c", "in.c"), text="z")
    if kind == "file-link":
        patch = MODIFY.format(path=path) + NEW_FILE.format(path=path, text="z")
    outputs = _run(tmp_path, patch, tree, capsys)
    assert outputs.check_code == outputs.apply_code == 1
    _statuses(outputs)
    statuses = [f["hunks"][0]["status"] for f in outputs.checked["files"]]
    if kind == "file-link":
        assert statuses == [str(HunkStatus.CONFLICT), str(HunkStatus.FILE_EXISTS)]
    else:
        assert statuses == [str(HunkStatus.CONFLICT), str(HunkStatus.CONFLICT)]
    worktree = Path(outputs.applied["worktree"])
    if kind == "file-link":
        assert os.readlink(worktree / path) == "x.c"  # still the link, never replaced


@pytest.mark.parametrize("form", ["plain", "git"])
def test_a_hunk_for_a_file_the_tree_lacks_is_an_open_item_with_its_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    # issue 14.2: git add of the missing path stopped apply with exit 3, the session stuck in
    # "applying".
    tree, _outside = _layout(tmp_path)
    if form == "git":
        run_git(tree, "init", "-q")
        run_git(tree, "add", "-A")
        run_git(tree, "commit", "-q", "-m", "vendor")
    patch = MODIFY.format(path="drivers/gone/y.c") + MODIFY.format(path="drivers/md/x.c")
    outputs = _run(tmp_path, patch, tree, capsys)
    assert outputs.check_code == outputs.apply_code == 1
    _statuses(outputs)
    assert outputs.applied["phase"] == Phase.READY
    worktree = Path(outputs.applied["worktree"])
    reject = (worktree / "drivers/gone/y.c.rej").read_text()
    assert reject.startswith("--- drivers/gone/y.c\n+++ drivers/gone/y.c\n@@ -1,3 +1,3 @@")
    assert (worktree / "drivers/md/x.c").read_text() == "a\nB\nc\n"
    store = SessionStore(session_path(git.git_dir_of(worktree)))
    kinds = sorted((i.kind, i.path) for i in store.open_items())
    assert kinds == [("hunk", "drivers/gone/y.c"), ("reject", "drivers/gone/y.c.rej")]
    # Dropping it (the vendor deleted the file on purpose) settles the session.
    code = main(
        [
            "resolve",
            "drivers/gone/y.c#1",
            "--drop",
            "--reason",
            "the vendor removed this driver",
            "--session",
            str(worktree),
        ]
    )
    assert code == 0
    assert store.open_items() == []


@pytest.mark.parametrize(
    "name",
    ["../escape.c", "drivers/../../escape.c", ".git/hooks/post-checkout", "drivers/.GIT/config"],
)
def test_names_out_of_the_tree_are_refused_before_anything_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    tree, _outside = _layout(tmp_path)
    patch_file = tmp_path / "bad.diff"
    patch_file.write_text(NEW_FILE.format(path=name, text="x"))
    assert main(["check", str(patch_file), "--tree", str(tree)]) == 2
    check_error = capsys.readouterr().err
    code = main(["apply", str(patch_file), "--tree", str(tree), "--worktree", str(tmp_path / "wt")])
    assert code == 2
    apply_error = capsys.readouterr().err
    assert check_error.splitlines()[0] == apply_error.splitlines()[0]
    assert not (tmp_path / "wt").exists()
    assert not (tmp_path / "escape.c").exists()
    repository = git.data_home() / "trees"
    branches = (
        git.run_git(["branch", "--list"], git_dir=next(repository.glob("*/repo.git")))
        .stdout.decode()
        .strip()
        if repository.exists() and any(repository.glob("*/repo.git"))
        else ""
    )
    assert branches == ""


def test_renames_and_copies_through_a_link_are_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, outside = _layout(tmp_path)
    os.symlink(outside, tree / "drivers/out")
    patch = (
        "diff --git a/drivers/md/x.c b/drivers/out/x.c\n"
        "similarity index 100%\nrename from drivers/md/x.c\nrename to drivers/out/x.c\n"
        "diff --git a/drivers/out/x.c b/drivers/md/copied.c\n"
        "similarity index 100%\ncopy from drivers/out/x.c\ncopy to drivers/md/copied.c\n"
    )
    before = fingerprint(outside)
    outputs = _run(tmp_path, patch, tree, capsys)
    assert fingerprint(outside) == before
    assert outputs.check_code == outputs.apply_code == 1
    assert [f["status"] for f in outputs.checked["files"]] == ["conflict", "conflict"]
    recorded = {h["id"]: h["status"] for h in outputs.applied["hunks"]}
    assert recorded == {"drivers/out/x.c#0": "conflict", "drivers/md/copied.c#0": "conflict"}
    worktree = Path(outputs.applied["worktree"])
    assert (worktree / "drivers/md/x.c").read_text() == "a\nb\nc\n"  # not renamed away


def test_quoted_names_land_where_they_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # git quotes names with quotes, backslashes, tabs and non-ASCII; as file names they are
    # ordinary, and as pathspecs git must not read them as globs.
    tree, _outside = _layout(tmp_path)
    (tree / "drivers/md/*.c").write_text("a\nv\nc\n")
    patch = (
        'diff --git "a/drivers/md/tab\\there.c" "b/drivers/md/tab\\there.c"\n'
        "new file mode 100644\n--- /dev/null\n"
        '+++ "b/drivers/md/tab\\there.c"\n@@ -0,0 +1 @@\n+t\n'
        'diff --git "a/drivers/md/\\303\\251t\\303\\251.c" "b/drivers/md/\\303\\251t\\303\\251.c"\n'
        "new file mode 100644\n--- /dev/null\n"
        '+++ "b/drivers/md/\\303\\251t\\303\\251.c"\n@@ -0,0 +1 @@\n+e\n'
        + MODIFY.format(path="drivers/md/*.c")
    )
    outputs = _run(tmp_path, patch, tree, capsys)
    assert outputs.check_code == outputs.apply_code == 1  # *.c conflicts: the vendor's "v"
    _statuses(outputs)
    worktree = Path(outputs.applied["worktree"])
    assert (worktree / "drivers/md/tab\there.c").read_text() == "t\n"
    assert (worktree / "drivers/md/été.c").read_text() == "e\n"
    # A hand edit of x.c in the worktree, not committed; resolving the hunk of "*.c" commits
    # "*.c" alone (as a glob, the pathspec would take x.c along).
    (worktree / "drivers/md/x.c").write_text("hand edit\n")
    argv = ["resolve", "drivers/md/*.c#1", "--drop", "--reason", "the vendor's own line"]
    assert main([*argv, "--session", str(worktree)]) == 0
    shown = git.run_git(["show", "--name-only", "--format=", "HEAD"], cwd=worktree).stdout
    assert "x.c" not in shown.decode()
    assert git.run_git(["status", "--porcelain"], cwd=worktree).stdout == b"?? drivers/md/x.c\n"


def test_a_root_owned_repository_is_named_not_taken_for_a_plain_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # git refuses a repository another user owns (safe.directory). Simulated with git's own
    # test switch, which the scrubbed environment lets through only here.
    tree, _outside = _layout(tmp_path)
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "vendor")
    monkeypatch.setattr(git, "_KEEP", git._KEEP | {"GIT_TEST_ASSUME_DIFFERENT_OWNER"})
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    patch_file = tmp_path / "p.diff"
    patch_file.write_text(MODIFY.format(path="drivers/md/x.c"))
    with pytest.raises(TreeError) as raised:
        git.repository_root(tree)
    assert "owned by another user" in raised.value.message
    assert raised.value.hint is not None and "safe.directory" in raised.value.hint
    assert main(["apply", str(patch_file), "--tree", str(tree)]) == 2
    assert "safe.directory" in capsys.readouterr().err
    # A folder inside such a repository is still a plain tree.
    assert git.repository_root(tree / "drivers") is None
    # Trusted in the user's global config, it is a git tree again.
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "git" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[safe]\n\tdirectory = {tree}\n")
    monkeypatch.setattr(git, "_user_config_cache", {})
    assert git.repository_root(tree) == tree


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the tree to another user")
def test_a_repository_really_owned_by_another_user(tmp_path: Path) -> None:
    tree, _outside = _layout(tmp_path)
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "vendor")
    for directory, subdirs, files in os.walk(tree):
        for name in [*subdirs, *files]:
            os.lchown(os.path.join(directory, name), 65534, 65534)
    os.lchown(tree, 65534, 65534)
    with pytest.raises(TreeError, match="owned by another user"):
        git.repository_root(tree)


def test_a_file_git_ignores_is_judged_and_applied_as_the_tree_has_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # check reads the folder, ignored files and all; the worktree of a git tree comes from
    # HEAD, which lacks them. The base commit carries the touched paths as the tree has them.
    tree, _outside = _layout(tmp_path)
    (tree / ".gitignore").write_text("/drivers/gen/\n")
    (tree / "drivers/gen").mkdir()
    (tree / "drivers/gen/x.c").write_text("a\nb\nc\n")
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "vendor")
    patch = MODIFY.format(path="drivers/gen/x.c") + NEW_FILE.format(
        path="drivers/gen/x.c", text="again"
    )
    outputs = _run(tmp_path, patch, tree, capsys)
    _statuses(outputs)
    assert [f["status"] for f in outputs.checked["files"]] == ["clean", "file-exists"]
    worktree = Path(outputs.applied["worktree"])
    assert (worktree / "drivers/gen/x.c").read_text() == "a\nB\nc\n"
    assert run_git(tree, "status", "--porcelain") == ""  # the user's tree as it was


def test_filters_that_rewrite_files_on_checkout_are_refused_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A checkout with eol=crlf gives the worktree other bytes than the tree has: apply would
    # write what check did not judge. It says so and leaves no branch or worktree behind.
    tree, _outside = _layout(tmp_path)
    (tree / ".gitattributes").write_text("*.c text eol=crlf\n")
    run_git(tree, "init", "-q")
    run_git(tree, "add", "-A")
    run_git(tree, "commit", "-q", "-m", "vendor")
    (tree / "drivers/md/x.c").write_bytes(b"a\nb\nc\n")  # as the tree really has it
    patch_file = tmp_path / "p.diff"
    patch_file.write_text(MODIFY.format(path="drivers/md/x.c"))
    assert main(["check", str(patch_file), "--tree", str(tree)]) == 0
    capsys.readouterr()
    worktree = tmp_path / "wt"
    code = main(["apply", str(patch_file), "--tree", str(tree), "--worktree", str(worktree)])
    assert code == 2
    error = capsys.readouterr().err
    assert "does not hold drivers/md/x.c as the tree does" in error
    assert ".gitattributes" in error
    assert not worktree.exists()
    assert run_git(tree, "branch", "--list", "patchsmith/*") == ""


RETARGET = """\
diff --git a/{path} b/{path}
index 1111111..2222222 120000
--- a/{path}
+++ b/{path}
@@ -1 +1 @@
-{old}
\\ No newline at end of file
+{target}
\\ No newline at end of file
"""

FILE_TO_LINK = """\
diff --git a/{path} b/{path}
old mode 100644
new mode 120000
--- a/{path}
+++ b/{path}
@@ -1,3 +1 @@
-a
-b
-c
+{target}
\\ No newline at end of file
"""

MODE_ONLY_TO_LINK = """\
diff --git a/{path} b/{path}
old mode 100644
new mode 120000
"""

MOVE_LINK = """\
diff --git a/{old_path} b/{path}
similarity index 90%
{verb} from {old_path}
{verb} to {path}
index 1111111..2222222 120000
--- a/{old_path}
+++ b/{path}
@@ -1 +1 @@
-{old}
\\ No newline at end of file
+{target}
\\ No newline at end of file
"""


def _link_shape(shape: str, target: str) -> tuple[str, str]:
    """The patch for one way of leaving a link at a path, and that path."""
    if shape == "retarget":
        return RETARGET.format(path="drivers/md/l", old="x.c", target=target), "drivers/md/l"
    if shape == "file-to-link":
        return FILE_TO_LINK.format(path="drivers/md/y.c", target=target), "drivers/md/y.c"
    if shape == "mode-only":
        return MODE_ONLY_TO_LINK.format(path="drivers/md/t.txt"), "drivers/md/t.txt"
    verb = "rename" if shape == "rename" else "copy"
    # From three levels down, "../../../x.c" is the tree's top x.c; moved to drivers/md it
    # climbs out (so the same target judged at the new place is the point).
    return (
        MOVE_LINK.format(
            verb=verb,
            old_path="drivers/md/a/b/up",
            path="drivers/md/up",
            old="../../../x.c",
            target=target,
        ),
        "drivers/md/up",
    )


@pytest.mark.parametrize("shape", ["retarget", "file-to-link", "mode-only", "rename", "copy"])
@pytest.mark.parametrize("where", ["absolute", "dotdot", "inside"])
@pytest.mark.parametrize("form", ["plain", "git"])
def test_every_link_the_patch_leaves_is_judged_like_a_created_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str, where: str, form: str
) -> None:
    # issue 14.1, second round: only a link the patch created was checked. A hunk re-targeting
    # an existing link (index ..120000), or a file made a link (new mode 120000), or a link
    # moved where its relative target climbs out, was 'clean' in check and made in apply's
    # worktree (finish would have shipped it); a later diff's reason named the old target.
    tree, outside = _layout(tmp_path)
    md = tree / "drivers/md"
    os.symlink("x.c", md / "l")
    (md / "y.c").write_text("a\nb\nc\n")
    (md / "a/b").mkdir(parents=True)
    os.symlink("../../../x.c", md / "a/b/up")
    target = {
        "absolute": str(outside),
        "dotdot": "../../../outside",
        "inside": "x.c" if shape != "rename" and shape != "copy" else "../x.c",
    }[where]
    # A mode-only change makes the file's own text the target.
    (md / "t.txt").write_text(target)
    if form == "git":
        run_git(tree, "init", "-q")
        run_git(tree, "add", "-A")
        run_git(tree, "commit", "-q", "-m", "vendor")
    diff, path = _link_shape(shape, target)
    patch = diff + NEW_FILE.format(path=f"{path}/x.c", text="pwned")
    before_outside = fingerprint(outside)
    outputs = _run(tmp_path, patch, tree, capsys)
    assert fingerprint(outside) == before_outside
    _statuses(outputs)
    link_diff, beyond = outputs.checked["files"]
    worktree = Path(outputs.applied["worktree"])
    made = os.readlink(worktree / path) if os.path.islink(worktree / path) else None
    assert beyond["status"] == str(HunkStatus.CONFLICT)
    # The later diff names the link as the patch leaves it, not as the tree had it.
    assert f"(→ {target}" in beyond["reason"]
    assert "by an earlier diff of this patch" in beyond["reason"]
    if where == "inside":
        assert link_diff["status"] == str(HunkStatus.CLEAN), link_diff["reason"]
        assert made == target
        return
    assert link_diff["status"] == str(HunkStatus.CONFLICT)
    assert "outside the tree" in link_diff["reason"]
    assert f"→ {target}" in link_diff["reason"]
    assert link_diff["needs_review"]
    # Nothing of the diff was applied: the link (or file) is as the tree had it.
    assert made == (os.readlink(md / path.rpartition("/")[2]) if shape == "retarget" else None)
    assert outputs.check_code == outputs.apply_code == 1


@pytest.mark.parametrize("form", ["plain", "git"])
def test_a_type_change_without_hunks_is_done_as_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    # A mode-only diff to or from 120000 was recorded done while the worktree kept the file
    # (or the link) as it was: a mode bit cannot make a link.
    tree, _outside = _layout(tmp_path)
    md = tree / "drivers/md"
    os.symlink("x.c", md / "l")
    (md / "t.txt").write_text("x.c")
    if form == "git":
        run_git(tree, "init", "-q")
        run_git(tree, "add", "-A")
        run_git(tree, "commit", "-q", "-m", "vendor")
    patch = MODE_ONLY_TO_LINK.format(path="drivers/md/t.txt") + (
        "diff --git a/drivers/md/l b/drivers/md/l\nold mode 120000\nnew mode 100644\n"
    )
    outputs = _run(tmp_path, patch, tree, capsys)
    assert outputs.check_code == outputs.apply_code == 0
    assert all(h["applied"] for h in outputs.applied["hunks"])
    worktree = Path(outputs.applied["worktree"])
    assert os.readlink(worktree / "drivers/md/t.txt") == "x.c"
    assert not os.path.islink(worktree / "drivers/md/l")
    assert (worktree / "drivers/md/l").read_text() == "x.c"
    assert os.readlink(md / "l") == "x.c"  # the tree itself untouched
