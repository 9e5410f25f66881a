"""The demo scenario as an installed patchsmith carries it: one archive, packed at build time
from fixtures/demo, the same bytes on every build, unpacked whole and nowhere else."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from patchsmith.cli import demo_scenario
from patchsmith.cli.demo_scenario import ARCHIVE, ENTRIES, copy_scenario, write_archive
from patchsmith.errors import InputError
from tests.support.paths import FIXTURES

DEMO = FIXTURES / "demo"


def files_under(top: Path) -> dict[str, bytes]:
    return {
        path.relative_to(top).as_posix(): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No checkout, and a package folder holding only the archive (as in a wheel)."""
    package = tmp_path / "site-packages" / "patchsmith"
    write_archive(DEMO, package / ARCHIVE)
    monkeypatch.setattr(demo_scenario, "CHECKOUT", tmp_path / "no-checkout")
    # demo_scenario reads importlib.resources.files: the function it calls is replaced, by name.
    monkeypatch.setattr("importlib.resources.files", lambda _name: package)
    return package


def test_the_archive_is_the_same_bytes_on_every_build(tmp_path: Path) -> None:
    write_archive(DEMO, tmp_path / "one.tar.gz")
    write_archive(DEMO, tmp_path / "two.tar.gz")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "one.tar.gz") as bundle:
        assert {m.mtime for m in bundle.getmembers()} == {0}
        assert {m.name.split("/")[0] for m in bundle.getmembers()} == set(ENTRIES)


def test_installed_demo_unpacks_what_the_checkout_has(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert copy_scenario(work) == f"patchsmith/{ARCHIVE}"
    expected = {
        name: data for name, data in files_under(DEMO).items() if name.split("/")[0] in ENTRIES
    }
    assert files_under(work) == expected
    assert "vendor/drivers/md/dm-snap.c" in expected and "patch-6.1.999.diff" in expected


def test_the_checkout_wins_when_there_is_one(tmp_path: Path) -> None:
    assert copy_scenario(tmp_path) == str(DEMO)
    assert (tmp_path / "vanilla" / "drivers" / "md" / "dm-table.c").is_file()
    assert not (tmp_path / "worktree").exists()


def test_neither_checkout_nor_archive_is_bad_input(installed: Path, tmp_path: Path) -> None:
    (installed / ARCHIVE).unlink()
    with pytest.raises(InputError, match="the demo scenario is missing") as caught:
        copy_scenario(tmp_path)
    assert "reinstall" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "member", ["../outside", "/etc/passwd-copy", "vendor/link"], ids=["dotdot", "absolute", "link"]
)
def test_a_damaged_archive_writes_nothing_outside(
    installed: Path, tmp_path: Path, member: str
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        info = tarfile.TarInfo(member)
        if member.endswith("link"):
            info.type, info.linkname = tarfile.SYMTYPE, "/etc"
            bundle.addfile(info)
        else:
            info.size = 4
            bundle.addfile(info, io.BytesIO(b"evil"))
    (installed / ARCHIVE).write_bytes(buffer.getvalue())
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(InputError, match="which a demo scenario never does"):
        copy_scenario(work)
    assert list(work.iterdir()) == [] and not (tmp_path / "outside").exists()
