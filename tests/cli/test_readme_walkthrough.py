"""The README's step-by-step runs as written: the shell block under "The whole job, step by
step", in bash, from a checkout-shaped folder (its ``.venv`` and ``fixtures/demo``), with only
``/tmp/demo`` and ``/tmp/wt`` moved into the test's folder and an editor that settles the
conflict as fixtures/demo/README.md says. It once had ``. .venv/bin/activate`` after ``cd
/tmp/demo``, where the relative path no longer exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ship.real_tools import HEADERS
from tests.support.paths import FIXTURES, REPO

VENV = Path(sys.prefix)


def walkthrough() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The whole job, step by step", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "the step-by-step has no ```sh block"
    return match.group(1)


def test_the_step_by_step_activates_before_it_changes_directory() -> None:
    lines = [line for line in walkthrough().splitlines() if line and not line.startswith("#")]
    activate = next(i for i, line in enumerate(lines) if ".venv/bin/activate" in line)
    first_cd = next(i for i, line in enumerate(lines) if re.search(r"\bcd\b", line))
    assert activate < first_cd


@pytest.mark.skipif(
    not (VENV / "bin" / "activate").is_file(), reason="the tests do not run from a venv"
)
def test_the_step_by_step_runs_as_written(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "fixtures").mkdir(parents=True)
    (checkout / ".venv").symlink_to(VENV)
    # A copy: 'cp -r' of a link to it would make /tmp/demo that link, and the walkthrough would
    # write into the repository's fixtures.
    shutil.copytree(FIXTURES / "demo", checkout / "fixtures" / "demo")
    script = walkthrough().replace("/tmp/demo", str(tmp_path / "demo"))
    script = script.replace("/tmp/wt", str(tmp_path / "wt"))
    # Each patchsmith command reports its exit status (continuation lines joined first).
    script = script.replace("\\\n", " ")
    lines = []
    for line in script.splitlines():
        command = line.split("  #")[0].rstrip()
        if command.startswith("patchsmith "):
            name = command.split()[1]
            lines.append(f'{command}; echo "@@ {name} $?" >&2')
        else:
            lines.append(line)
    editor = tmp_path / "settle.py"
    editor.write_text(
        "import re, sys\n"
        "path = sys.argv[1]\n"
        "text = open(path).read()\n"
        "both = '\\tif (!s->valid || s->merge_failed || dm_suspended(ti))\\n'\n"
        "open(path, 'w').write(re.sub(r'<<<<<<< .*?>>>>>>> [^\\n]*\\n', both, text, flags=re.S))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "VISUAL")}
    env["EDITOR"] = f"{sys.executable} {editor}"
    env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"  # patchsmith only from the activated venv
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "\n".join(lines)],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    codes = [
        (name, int(code)) for name, code in re.findall(r"^@@ (\S+) (\d+)$", result.stderr, re.M)
    ]
    assert "No such file" not in result.stderr, result.stderr
    assert [name for name, _ in codes] == [
        "ls",
        "filter",
        "check",
        "apply",
        "resolve",
        "resolve",
        "report",
        "finish",
        "build",
        "package",
        "preflight",
    ], result.stderr
    got = dict(codes[:4]) | {"report": codes[6][1], "finish": codes[7][1]}
    # check and apply exit 1 (the conflict), as the table below the block says.
    assert got == {"ls": 0, "filter": 0, "check": 1, "apply": 1, "report": 0, "finish": 0}
    assert codes[4] == ("resolve", 1)  # no terminal: the status, with the conflict open
    assert codes[5] == ("resolve", 0), result.stderr  # settled in the editor
    assert (tmp_path / "demo" / "carried.patch").is_file()
    assert not (tmp_path / "demo").is_symlink()
    build, package, preflight = codes[8][1], codes[9][1], codes[10][1]
    if HEADERS is not None:
        assert (build, package) == (0, 0), result.stderr
        assert (tmp_path / "demo" / "dm-modules.tgz").is_file()
    else:
        assert build == 2 and "hint:" in result.stderr
    if preflight == 2:  # no module of the target kernel here: said, with a hint
        assert "holds no kernel modules" in result.stderr or "no such" in result.stderr.lower()
