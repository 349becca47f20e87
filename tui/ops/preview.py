"""Paths and values as one short line: ``refund.amount``, ``{"a": 1, …}``.

Used by the diff view, the change list and the commands' text output; no DeepDiff
here, so the commands that only print values load quickly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, TypeAlias
from uuid import UUID

from timeloom.backends.inert import Inert
from timeloom.tui.ops.plural import counted

MISSING: Final[Any] = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
"""Stands for a key or item that is absent on one side of a change."""
PathPart: TypeAlias = str | int | tuple[str, Any]
"""One step of a path: a key, a list index, or ``("id", value)`` for a list item
matched by its id."""
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(path: tuple[PathPart, ...]) -> str:
    """``refund.amount``, ``messages[3].content``, ``messages[id=m1]``, ``["a b"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, tuple):
            out += f"[id={preview(part[1], 30)}]"
        elif isinstance(part, str) and _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False, default=str)}]"
    return out or "(state)"


def preview(value: Any, limit: int = 60) -> str:
    """A one-line, shortened rendering of a value for a list of changes."""
    text = _render(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Any, budget: int) -> str:
    if value is MISSING:
        return "—"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value[:budget], ensure_ascii=False)
    if isinstance(value, int | float | Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray):
        more = "…" if len(value) > 8 else ""
        return f"<{counted(len(value), 'byte')} {bytes(value[:8]).hex()}{more}>"
    if isinstance(value, Inert):
        if value.fields is None:
            return f"<{value.type_name}: {counted(len(value.raw), 'byte')}>"
        return f"{value.type_name}{_render(dict(value.fields), budget)}"
    if isinstance(value, Mapping):
        return _join_items(
            ("{", "}"),
            (f"{_render(k, budget)}: {_render(v, budget)}" for k, v in value.items()),
            budget,
        )
    if isinstance(value, list):
        return _join_items(("[", "]"), (_render(v, budget) for v in value), budget)
    if isinstance(value, tuple):
        return _join_items(("(", ")"), (_render(v, budget) for v in value), budget)
    if isinstance(value, set | frozenset):
        items = sorted(_render(v, budget) for v in value)
        return _join_items(("{", "}"), iter(items), budget) if items else "set()"
    return repr(value)[:budget]


def _join_items(brackets: tuple[str, str], items: Iterator[str], budget: int) -> str:
    out = brackets[0]
    for i, item in enumerate(items):
        if len(out) > budget:
            return out + "…" + brackets[1]
        out += (", " if i else "") + item
    return out + brackets[1]
