"""Counts in words: ``1 match``, ``2 matches``, ``1,204 checkpoints``.

Every count the app and the commands print goes through :func:`counted`, so none
reads "1 matches".
"""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, the noun plural unless the count is one.

    Args:
        count: how many (shown with thousands separators).
        noun: the singular noun (``"match"``).
        plural: the plural when adding ``s`` (``es`` after s, x, z, ch, sh)
            is wrong (``"entries"``).

    Returns:
        ``"1 match"``, ``"0 matches"``, ``"12,000 checkpoints"``.
    """
    return f"{count:,} {noun if count == 1 else plural or _plural(noun)}"


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"
