"""Trees on disk in tests: a fingerprint to prove one unchanged, and git to set one up."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path


def fingerprint(root: Path) -> dict[str, tuple[int, str]]:
    """Every file, link and directory under ``root`` with its mode and content hash."""
    found: dict[str, tuple[int, str]] = {}
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if os.path.islink(path):
                digest = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            else:
                digest = "dir"
            found[os.path.relpath(path, root)] = (info.st_mode, digest)
    return found


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` for a test's own set-up or inspection; its standard output.

    Not patchsmith's runner (:mod:`patchsmith.workspace.git`): a second client, so a mistake in
    that module's environment handling cannot hide in the tests that check it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")}
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env
    ).stdout
