"""Paths into a state, as the State tab shows and copies them: ``messages[3].content``,
``refund.amount``, ``["a key"].x``."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from timeloom.backends.inert import Inert
from timeloom.core.errors import TimeloomError
from timeloom.tui.ops.preview import format_path

Path = tuple[str | int, ...]

MISSING: Final[Any] = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
"""What :func:`value_at` returns where the path leads nowhere."""

_PART = re.compile(
    r"""\.?(?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | \[(?P<index>-?\d+)\]
      | \[(?P<quoted>"(?:[^"\\]|\\.)*")\]""",
    re.VERBOSE,
)


class PathError(TimeloomError):
    """Text that is not a path."""

    default_title = "Bad path"


def parse_path(text: str) -> Path:
    """Parse ``messages[3].content`` into ``("messages", 3, "content")``.

    Raises:
        PathError: the text is not a path (it says where).
    """
    parts: list[str | int] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _PART.match(text, position)
        if match is None or (match.group("name") and position == 0 and text[0] == "."):
            raise PathError(f"not a path at character {position + 1}: {text!r}")
        if match.group("name") is not None:
            if position > 0 and text[position] != ".":
                raise PathError(f"expected . or [ at character {position + 1}")
            parts.append(match.group("name"))
        elif match.group("index") is not None:
            parts.append(int(match.group("index")))
        else:
            parts.append(json.loads(match.group("quoted")))
        position = match.end()
    if not parts or not isinstance(parts[0], str):
        raise PathError(f"a path starts with a key of the state: {text!r}")
    return tuple(parts)


def path_text(path: Path) -> str:
    """The text of a path (the inverse of :func:`parse_path`)."""
    return format_path(path)


def value_at(values: Mapping[str, Any], path: Path) -> Any:
    """The value at ``path`` in ``values``, or :data:`MISSING`."""
    current: Any = values
    for part in path:
        current = _member(current, part)
        if current is MISSING:
            return MISSING
    return current


def _member(value: Any, part: str | int) -> Any:
    if isinstance(value, Inert):
        fields = value.fields or {}
        return fields.get(part, MISSING) if isinstance(part, str) else MISSING
    if isinstance(value, Mapping):
        return value.get(part, MISSING)
    if isinstance(value, list | tuple):
        if isinstance(part, int) and -len(value) <= part < len(value):
            return value[part]
        return MISSING
    if isinstance(part, str):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = {f.name for f in dataclasses.fields(value)}
            return getattr(value, part) if part in names else MISSING
        model_fields = getattr(type(value), "model_fields", None)
        if isinstance(model_fields, Mapping) and part in model_fields:
            return getattr(value, part)
    return MISSING
