"""The Textual front end of patchsmith (installed as ``patchsmith_tui``).

It imports :mod:`patchsmith` and renders its state; it holds no domain logic and never runs git or
parses patches itself. The library never imports this package (an import-linter contract checks).
"""
