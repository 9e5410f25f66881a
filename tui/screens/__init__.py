"""Screens of the patchsmith TUI: the resolve screen, dialogs, help and the error screen."""
