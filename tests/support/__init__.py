"""What tests share besides pytest fixtures: where the repository's data is, a tree's
fingerprint, a git runner for setting trees up, and the hermetic home's helpers.

Tests import these from here, never from a ``conftest.py``: pytest loads a conftest itself, and
importing one as a module as well runs it a second time under another name (and makes a
fixture file a library). A conftest imports from here too.
"""
