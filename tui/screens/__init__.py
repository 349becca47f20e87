"""Timeloom's screens: help and error dialogs."""
