"""Widgets of the patchsmith TUI: they render view-model data and post Messages; no logic."""
