"""docs/DESIGN.md is where modules send a reader: every reference names a section it has, and every
module path the document names exists.

A module cites the document as ``docs/DESIGN.md, "Section"``. The test reads every source and
schema file of the library and the TUI, finds each mention of ``DESIGN.md``, and fails on one
that is not in that form or names a heading the document no longer has (a section renamed
without its citations, or a citation of a design document outside the repository).
"""

from __future__ import annotations

import re

from tests.support.paths import REPO

DESIGN = REPO / "docs" / "DESIGN.md"
CITING = ("patchsmith", "tui")
SUFFIXES = (".py", ".json", ".tcss")

# docs/DESIGN.md, "Status vocabulary"   (or with single quotes, inside a JSON string)
CITATION = re.compile(r"""docs/DESIGN\.md, (?:"(?P<double>[^"]+)"|'(?P<single>[^']+)')""")


def headings(markdown: str) -> set[str]:
    """Every ``#`` heading of a Markdown text, without the hashes (fenced code is skipped)."""
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6} +(.+?) *$", line)):
            found.add(match.group(1))
    return found


def _flatten(text: str) -> str:
    """The text as one line: a citation may wrap in a docstring or a ``#`` comment."""
    lines = (re.sub(r"^\s*#\s?", "", line) for line in text.splitlines())
    return re.sub(r"\s+", " ", " ".join(lines))


def bad_citations(text: str, sections: set[str]) -> list[str]:
    """What is wrong with each mention of DESIGN.md in ``text`` (nothing when all are good)."""
    flat = _flatten(text)
    problems: list[str] = []
    for mention in re.finditer(r"DESIGN\.md", flat):
        start = mention.start() - len("docs/")
        # The repository's own document: "docs/" right before the name, and no other folder
        # before that (../shared/docs/DESIGN.md is not in the repository).
        whole = start >= 0 and not (start > 0 and re.match(r"[\w./-]", flat[start - 1]))
        citation = CITATION.match(flat, start) if whole else None
        if citation is None:
            words = flat[max(mention.start() - 20, 0) : mention.end() + 30]
            problems.append(f'not in the form docs/DESIGN.md, "Section": {words!r}')
            continue
        section = citation.group("double") or citation.group("single")
        if section not in sections:
            problems.append(f"no section {section!r} in docs/DESIGN.md")
    return problems


def test_every_citation_names_a_section_that_exists() -> None:
    sections = headings(DESIGN.read_text(encoding="utf-8"))
    problems: list[str] = []
    cited = 0
    for folder in CITING:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            cited += text.count("DESIGN.md")
            problems += [f"{path.relative_to(REPO)}: {p}" for p in bad_citations(text, sections)]
    assert not problems, "\n".join(problems)
    assert cited >= 7  # the modules that cite it today: the scan did reach them


def test_the_checker_refuses_what_it_should() -> None:
    sections = {"Exit codes", "The gate"}
    assert bad_citations('the codes (docs/DESIGN.md, "Exit codes"), as', sections) == []
    wrapped = '    """The gate\'s list (docs/DESIGN.md,\n    "The gate"); more."""'
    assert bad_citations(wrapped, sections) == []
    commented = '# see docs/DESIGN.md,\n# "The gate" for why'
    assert bad_citations(commented, sections) == []
    assert len(bad_citations("the status vocabulary (DESIGN.md)", sections)) == 1
    assert len(bad_citations('see ../shared/DESIGN.md, "Exit codes"', sections)) == 1
    assert len(bad_citations('see shared/docs/DESIGN.md, "Exit codes"', sections)) == 1
    assert bad_citations("docs/DESIGN.md, 'The gate' in JSON", sections) == []
    assert len(bad_citations("see docs/DESIGN.md for more", sections)) == 1
    assert bad_citations('docs/DESIGN.md, "Exit code"', sections) == [
        "no section 'Exit code' in docs/DESIGN.md"
    ]


def test_headings_skip_fenced_code() -> None:
    text = "# Title\n\n```sh\n# not a heading\n```\n\n## The gate\n"
    assert headings(text) == {"Title", "The gate"}


def test_the_readme_layout_points_to_the_design_document() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme.split("\n## Layout\n", 1)[1]
    assert "docs/DESIGN.md" in layout.split("\n## ", 1)[0]


# `engine/locate.py`, `tests/support/paths.py`, `patchsmith/model.py`   (a path in code format)
PATH_IN_TEXT = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|json|toml|tcss))`")


def test_every_module_path_the_document_names_exists() -> None:
    """A file moved or split without the map following it is a map that lies."""
    text = DESIGN.read_text(encoding="utf-8")
    named = set(PATH_IN_TEXT.findall(text))
    assert len(named) > 50  # the pattern still finds the paths the document names
    roots = (REPO, REPO / "patchsmith")
    missing = sorted(p for p in named if not any((root / p).is_file() for root in roots))
    assert missing == []
