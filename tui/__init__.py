"""Timeloom's terminal UI and the ``timeloom`` command."""
