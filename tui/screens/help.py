"""The ``?`` screen: every key, grouped by where it works."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

TEXT_WIDTH = 64
"""Columns for a key and its description inside the dialog (72 wide)."""


class HelpScreen(ModalScreen[None]):
    """Lists key bindings in sections; any of escape, ? or q closes it.

    | Key | Action |
    | :- | :- |
    | escape / ? / q | Close. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(
        self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]
    ) -> None:
        """Args:
        sections: ``(title, [(keys, what they do), ...])`` per section.
        """
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        lines: list[str] = []
        for title, keys in self.sections:
            lines.append(f"[b $accent]{escape(title)}[/]")
            width = max((len(k) for k, _ in keys), default=0) + 2
            for key, text in keys:
                # Wrapped lines stay under the description, not at column 0.
                first, *more = textwrap.wrap(
                    text, max(TEXT_WIDTH - width, 20), break_on_hyphens=False
                ) or [""]
                lines.append(f"  [b]{escape(key.ljust(width))}[/b]{escape(first)}")
                lines.extend(f"  {' ' * width}{escape(line)}" for line in more)
            lines.append("")
        lines.append(
            "[$text-muted]Every action is also in the command palette (ctrl+p).[/]"
        )
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "escape to close"
            with VerticalScroll():
                yield Static("\n".join(lines), id="help-text")
