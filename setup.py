"""Build hook: what the package carries that is made from the sources, never kept in the repo.

Everything else about the distribution is declared in pyproject.toml. This hook runs with
``build_py`` (wheels, editable installs) and makes:

- patchsmith(1) and the bash and zsh completion scripts, from the command line's argparse
  parser, under ``build/generated/``; ``data_files`` installs them into the environment's
  ``share/`` (``man`` and bash-completion find them there from ``PATH``; zsh needs the folder in
  ``fpath``). Building the parser imports every subcommand module, so what those import at the
  top is in pyproject's ``[build-system] requires`` too.
- ``patchsmith/demo-scenario.tar.gz`` in the built package, from ``fixtures/demo``, for
  ``patchsmith demo`` outside a checkout (``patchsmith/cli/demo_scenario.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
GENERATED = Path("build") / "generated"
OUTPUTS = {
    "share/man/man1": ("patchsmith.1", "man"),
    "share/bash-completion/completions": ("patchsmith", "bash"),
    "share/zsh/site-functions": ("_patchsmith", "zsh"),
}
"""Where each generated file is installed (under the environment's prefix), its name, what it is."""


def generate(build_lib: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from patchsmith.cli import build_parser
        from patchsmith.cli.completion import script
        from patchsmith.cli.demo_scenario import ARCHIVE, write_archive
        from patchsmith.cli.manpage import render
    except ImportError as error:
        raise SystemExit(
            f"setup.py: building the man page needs {error.name!r} in the build environment: "
            "add it to [build-system] requires in pyproject.toml"
        ) from error
    finally:
        sys.path.pop(0)
    parser = build_parser()
    texts = {"man": render(parser), "bash": script("bash", parser), "zsh": script("zsh", parser)}
    for folder, (name, kind) in OUTPUTS.items():
        target = ROOT / GENERATED / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(texts[kind], encoding="utf-8")
    write_archive(ROOT / "fixtures" / "demo", build_lib / "patchsmith" / ARCHIVE)


class BuildPyWithDocs(build_py):
    """``build_py`` that also writes the man page, the completion scripts and the demo."""

    def run(self) -> None:
        generate(Path(self.build_lib))
        super().run()


setup(
    cmdclass={"build_py": BuildPyWithDocs},
    data_files=[
        (folder, [str(GENERATED / folder / name)]) for folder, (name, _) in OUTPUTS.items()
    ],
)
