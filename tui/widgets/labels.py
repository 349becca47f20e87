"""Labels built from data: safe text, never parsed as markup.

Every widget that shows a thread id, a node name, a key or any other string read
from a database builds its label here (see :mod:`timeloom.tui.ops.safetext`).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from timeloom.tui.ops.safetext import safe


def label(text: object, style: str | Style = "") -> Text:
    """A label for data: control characters escaped, and a :class:`Text`, so that
    ``[/b]`` or ``[@click=app.quit]`` in it is shown, never interpreted."""
    return Text(safe(text), style=style)


def markup(text: object) -> str:
    """Data made safe to put inside a markup string: ``f"[b]{markup(x)}[/b]"``.

    Every ``[`` is escaped (Textual reads ``[$var]``, ``[B]`` or ``[ b]`` as tags,
    which the usual escape leaves alone), and a trailing backslash is kept from
    escaping the tag that follows by a zero-width space after it.
    """
    text = safe(text).replace("[", "\\[")
    return text + "\u200b" if text.endswith("\\") else text


def markup_lines(text: str) -> str:
    """Multi-line data made safe for markup, line by line (the newlines kept)."""
    return "\n".join(markup(line) for line in text.split("\n"))
