"""Making text read from a database safe to print on a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters (and newlines, tabs) shown as escapes.

    A terminal must never receive raw escape sequences from stored data: ``\\x1b``
    is shown as ``\\x1b``, a newline as ``\\n``, so every result stays on one line.
    """
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}"
            if ord(m.group()) < 256
            else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
