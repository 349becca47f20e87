"""The command palette's Timeloom commands: every action of the app, by name.

The app lists its commands in :meth:`TimeloomApp.palette_commands`; features that
add actions add them there, and they appear here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    """One entry of the command palette."""

    name: str
    help: str
    run: Callable[[], object]


class HasCommands(Protocol):
    """An app that lists its palette commands."""

    def palette_commands(self) -> Iterable[PaletteCommand]: ...


class TimeloomCommands(Provider):
    """Offers the app's actions (follow, filter, jump, tabs...) in the palette."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        if not hasattr(app, "palette_commands"):
            return []
        provider: HasCommands = app
        return list(provider.palette_commands())

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.name),
                    command.run,
                    help=command.help,
                )
