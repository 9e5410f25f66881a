"""patchfile."""
