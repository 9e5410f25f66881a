"""``python -m patchsmith``: the same entry point as the ``patchsmith`` console script."""

from patchsmith.cli import console_main

console_main()
