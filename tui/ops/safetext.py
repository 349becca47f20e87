"""Text from a database, made safe to show: the one place it is done.

Whatever a database holds (thread ids, node names, metadata keys, error messages,
values) was written by some other program, maybe by an attacker. Before it reaches
a terminal:

- control characters (C0, DEL, C1 such as U+009B, the single-character CSI) and
  the bidirectional overrides that reorder what is shown are escaped visibly
  (``\\x1b``, ``\\u202e``), so no escape sequence (OSC 52 clipboard writes, OSC 0
  title changes...) can reach the terminal;
- in the TUI, a label built from data is a :class:`rich.text.Text`, never parsed
  as markup: ``[/b]`` or ``[@click=app.quit]`` in a thread id is just text (see
  :mod:`timeloom.tui.widgets.labels`).

This module imports nothing heavy: the headless commands use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import IO, Any, Final

_BIDI: Final = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS: Final = (*range(0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
_TABLE: Final = {
    code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _CONTROLS
}
_JSON_UNSAFE: Final = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ESCAPED: Final = re.compile(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def safe(text: object) -> str:
    """``text`` (any value, shown with ``str``) with every control character escaped.

    Newlines and tabs are escaped too: one value is one line. Split multi-line
    text into lines first and make each line safe.
    """
    return str(text).translate(_TABLE)


def unescaped(text: str) -> str:
    """``text`` with the escapes :func:`safe` writes turned back into the control
    characters they stand for (other backslashes are left as they are).

    An id shown escaped (``\\x1b[31mred``) and typed back as shown then still
    names its thread.
    """

    def back(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if _TABLE.get(code) == match.group() else match.group()

    return _ESCAPED.sub(back, text)


def safe_lines(text: str) -> str:
    """Multi-line ``text`` with each line made safe (the newlines kept)."""
    return "\n".join(safe(line) for line in text.split("\n"))


def json_text(
    data: Any,
    *,
    indent: int | None = 2,
    ascii: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``data`` as JSON that is safe on a terminal.

    JSON escapes C0 controls already; with ``ensure_ascii=False`` it leaves DEL,
    the C1 controls and the bidirectional overrides raw, so those become ``\\uXXXX``
    escapes here (still the same JSON value).

    Args:
        data: the value.
        indent: as ``json.dumps``'s (None: one line).
        ascii: escape every non-ASCII character (the investigation commands'
            ``--json`` output), not only the unsafe ones.
        default: as ``json.dumps``'s: the JSON form of values JSON has no type for.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=ascii, default=default)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeStream:
    """A text stream that makes everything written to it safe (newlines kept).

    The headless commands write through one, so no field they print, now or
    later, can carry a control character to the terminal.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with each line made safe."""
        return self.stream.write(safe_lines(text))

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()
