"""The tests' own plumbing: shared helpers come from tests/support, never from a conftest.

pytest loads every ``conftest.py`` itself; a test that also imports one as a module gets a second
copy under another name (and a fixture file becomes a library others depend on). This reads
every test module's imports and fails on one that names a conftest.
"""

from __future__ import annotations

import ast

from tests.support.paths import REPO


def conftest_imports(source: str) -> list[str]:
    """The modules named ``...conftest`` that ``source`` imports, at any depth of the code."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if name.split(".")[-1] == "conftest"]
    return found


def test_no_test_imports_a_conftest() -> None:
    offenders = {}
    for path in sorted((REPO / "tests").rglob("*.py")):
        found = conftest_imports(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}


def test_the_check_sees_every_form_of_the_import() -> None:
    assert conftest_imports("from tests.conftest import FIXTURES\n") == ["tests.conftest"]
    assert conftest_imports("def f():\n    from tests.workspace.conftest import git\n") == [
        "tests.workspace.conftest"
    ]
    assert conftest_imports("from tests.workspace import conftest\n") == [
        "tests.workspace.conftest"
    ]
    assert conftest_imports("import tests.conftest as c\n") == ["tests.conftest"]
    assert conftest_imports("from tests.support.paths import FIXTURES\n") == []
