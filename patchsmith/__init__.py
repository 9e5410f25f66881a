"""patchsmith: carry an upstream sub-release patch into a vendor-modified source tree.

The library is headless: nothing here prints, prompts or exits, and nothing here imports Textual or
the ``patchsmith_tui`` front end. The command line lives in :mod:`patchsmith.cli`.
"""

__version__ = "0.1.0"
