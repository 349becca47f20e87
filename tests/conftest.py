"""Fixtures shared by every test folder."""

from __future__ import annotations
