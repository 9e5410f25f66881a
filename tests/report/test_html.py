"""The HTML report, checked by structure: self-contained, collapsed, every hunk present.

A real browser check (Debian's chromium, headless) runs when chromium is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from patchsmith.patchfile.select import Selection
from patchsmith.report.html import render_html
from patchsmith.report.model import Report


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open_tags: list[str] = []
        self.errors: list[str] = []
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "style":
            self.styles += 1
        if tag not in {"meta", "br", "col", "link", "img", "input", "hr"}:
            self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.open_tags[-1] if self.open_tags else ''}>")
            return
        self.open_tags.pop()


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture
def demo_html(make_demo_report: Callable[..., Report]) -> tuple[Report, str]:
    report = make_demo_report(Selection(only=("drivers/md", "include")))
    return report, render_html(report)


def test_is_well_nested(demo_html: tuple[Report, str]) -> None:
    parsed = _parse(demo_html[1])
    assert parsed.errors == []
    assert parsed.open_tags == []


def test_fetches_nothing_from_elsewhere(demo_html: tuple[Report, str]) -> None:
    parsed = _parse(demo_html[1])
    for tag, attrs in parsed.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.lower().startswith(("http:", "https:", "//")), (tag, value)
        assert tag not in {"link", "img", "iframe", "object", "embed"}
        if tag == "script":
            assert "src" not in attrs
    assert "@import" not in demo_html[1]
    assert "url(" not in demo_html[1]


def test_every_details_is_closed_by_default(demo_html: tuple[Report, str]) -> None:
    details = [attrs for tag, attrs in _parse(demo_html[1]).tags if tag == "details"]
    assert details
    assert all("open" not in attrs for attrs in details)


def test_every_hunk_is_present(demo_html: tuple[Report, str]) -> None:
    report, text = demo_html
    parsed = _parse(text)
    rows = {attrs.get("data-hunk") for tag, attrs in parsed.tags if tag == "tr"}
    left_out = {attrs.get("data-file") for tag, attrs in parsed.tags if tag == "tr"}
    for file in report.files:
        if file.selected:
            for hunk in file.hunks:
                assert hunk.id in rows
        else:
            assert file.path in left_out


def test_each_detailed_hunk_has_three_side_by_side_views(demo_html: tuple[Report, str]) -> None:
    report, text = demo_html
    parsed = _parse(text)
    ids = {attrs.get("id") for _tag, attrs in parsed.tags}
    detailed = [(f, h) for f in report.kept_files for h in f.hunks if h.detailed]
    assert [h.id for _f, h in detailed] == [
        "drivers/md/dm-snap.c#2",
        "drivers/md/dm-snap.c#3",
        "drivers/md/dm-table.c#1",
    ]
    for file, hunk in detailed:
        assert f"h-{file.entry}-{hunk.index}" in ids
    tables = [a for tag, a in parsed.tags if tag == "table" and "sbs" in (a.get("class") or "")]
    # upstream, vendor and result for each, except the conflict's missing result
    assert len(tables) == 3 * len(detailed) - 1


def test_styles_are_inline_once_with_both_colour_schemes(demo_html: tuple[Report, str]) -> None:
    text = demo_html[1]
    assert _parse(text).styles == 1
    assert "prefers-color-scheme: dark" in text
    assert ".hl .k " in text  # Pygments' keyword class, written once per scheme
    assert text.count(".hl .k ") == 2
    assert '<span class="k">return</span>' in text  # C highlighted with classes, not inline


def test_hostile_text_is_escaped(make_demo_report: Callable[..., Report]) -> None:
    from dataclasses import replace

    report = make_demo_report()
    file = report.files[0]
    evil = replace(file, path="<script>alert(1)</script>", reason="a & b")
    text = render_html(replace(report, files=(evil, *report.files[1:])))
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chromium_renders_it(demo_html: tuple[Report, str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(demo_html[1], encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,900",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_attention_only_lists_fewer_files_and_keeps_the_conflicts(
    make_demo_report: Callable[..., Report],
) -> None:
    report = make_demo_report()
    short = render_html(report, attention_only=True)
    assert "2 more kept file(s), 2 hunk(s), went in clean" in short
    assert "device-mapper.h" not in short.split("<h2>Files</h2>")[1]
    assert 'data-hunk="drivers/md/dm-snap.c#3"' in short
    # The conflict's evidence is in the page; the offset hunk's row is, its evidence is not.
    (snap,) = [f for f in report.files if f.path == "drivers/md/dm-snap.c"]
    assert f'<div id="h-{snap.entry}-3">' in short
    assert f'<div id="h-{snap.entry}-2">' not in short
    assert f'<div id="h-{snap.entry}-2">' in render_html(report)
    assert 'data-hunk="drivers/md/dm-snap.c#2"' in short
