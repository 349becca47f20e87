"""How checkpoint data is shown as text: times, statuses, sizes and values.

Times are always shown in UTC in a fixed format, so that what is on screen does not
depend on the machine's time zone (snapshots and screenshots stay stable).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias

from timeloom.core.checkpoint import ThreadStatus
from timeloom.tui.ops.plural import counted

ASCII_ENV: Final = "TIMELOOM_ASCII"
"""Set to 1 to draw only ASCII symbols, 0 to never do so; unset: ASCII where the
terminal cannot draw more (a non-UTF-8 locale, the Linux console)."""


def ascii_mode(
    environ: Mapping[str, str] = os.environ, encoding: str | None = None
) -> bool:
    """Whether to draw ASCII symbols instead of Unicode ones (see :data:`ASCII_ENV`).

    Args:
        environ: the environment to read.
        encoding: the terminal's encoding (default: standard output's).
    """
    forced = environ.get(ASCII_ENV, "").strip().lower()
    if forced:
        return forced not in ("0", "no", "false", "off")
    if environ.get("TERM") == "linux":  # the console font has box lines, few symbols
        return True
    encoding = encoding or getattr(sys.__stdout__, "encoding", None) or "utf-8"
    return "utf" not in encoding.lower()


ASCII: Final = ascii_mode()
"""Decided once, when the app starts."""


def glyph(fancy: str, plain: str) -> str:
    """``fancy``, or ``plain`` in ASCII mode. The fancy ones are all in the common
    monospace fonts (DejaVu Sans Mono, Menlo, Consolas, Cascadia)."""
    return plain if ASCII else fancy


STATUS_ICONS: Final[Mapping[ThreadStatus, str]] = {
    "running": glyph("▶", ">"),
    "paused": glyph("‖", "|"),
    "done": glyph("✓", "+"),
    "failed": glyph("✗", "x"),
}
"""One symbol per thread status (``running`` only while a run is known to be live;
see :func:`status_icon`)."""

IDLE_ICON: Final = glyph("○", "-")
"""A thread that has nodes due but that nothing is known to run."""

STATUS_NAMES: Final[Mapping[ThreadStatus, str]] = {
    "running": "idle",
    "paused": "paused",
    "done": "done",
    "failed": "failed",
}
"""What a stored status is called. The database only knows that nodes are due
(``running``): whether anything runs them it cannot tell, so that is "idle"."""

FORK_MARK: Final = glyph("↳", "Y")
"""Marks a thread forked from another one, and a checkpoint forked into one."""
HEAD_MARK: Final = glyph("◉", "@")
"""The thread's head in the checkpoint tree."""
NODE_MARK: Final = glyph("○", "o")
"""Any other checkpoint in the tree."""
MARKED: Final = glyph("◆", "#")
"""The checkpoint marked for diffing (``m``)."""
MATCH_MARK: Final = glyph("●", "*")
"""The checkpoints a search found (``ctrl+f``)."""
SUBGRAPH_MARK: Final = glyph("↘", ">")
"""A checkpoint that ran a subgraph, and the subgraph timelines themselves."""


def status_name(
    status: ThreadStatus, *, live: bool = False, next_nodes: tuple[str, ...] = ()
) -> str:
    """A thread's status as the user reads it: ``running`` only when ``live`` (a run
    this app started, or new checkpoints seen by follow); otherwise ``idle at
    approve`` (where it stands), ``paused``, ``done`` or ``failed``."""
    if status != "running":
        return status
    if live:
        return "running"
    return f"idle at {', '.join(next_nodes)}" if next_nodes else "idle"


def status_icon(status: ThreadStatus, *, live: bool = False) -> str:
    """The symbol of :func:`status_name`."""
    if status == "running" and not live:
        return IDLE_ICON
    return STATUS_ICONS.get(status, "?")  # another writer's status: unknown here


FOLD_AT: Final = 60
"""Strings longer than this are folded to their first characters in summaries."""

Kind: TypeAlias = Literal[
    "string", "number", "bool", "null", "time", "id", "bytes", "container", "type"
]
"""What kind of value a summary shows; the value tree styles each kind."""


def format_time(moment: datetime) -> str:
    """``HH:MM:SS`` in UTC."""
    return _utc(moment).strftime("%H:%M:%S")


def format_day_time(moment: datetime) -> str:
    """``MM-DD HH:MM`` in UTC: compact enough for the threads pane."""
    return _utc(moment).strftime("%m-%d %H:%M")


def format_timestamp(moment: datetime) -> str:
    """A full UTC timestamp with milliseconds, for the metadata tab."""
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def format_size(size: int | None) -> str:
    """A byte count for humans (``1.2 KB``); ``?`` when unknown."""
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC)


# -- values ------------------------------------------------------------------------


def is_inert(value: Any) -> bool:
    """Whether ``value`` is the codec's inert stand-in for a class it may not revive.

    The codec decodes an unknown class to a value with ``type_name`` and ``fields``;
    it is recognised by that shape so that the TUI never needs to import the class.
    """
    return (
        not isinstance(value, type)
        and isinstance(getattr(value, "type_name", None), str)
        and isinstance(getattr(value, "fields", None), Mapping)
    )


def children_of(value: Any) -> list[tuple[str | int, Any]] | None:
    """The members of a container value, or ``None`` if ``value`` is a leaf.

    Mappings give their items, sequences and sets their elements, dataclasses and
    inert values their fields.
    """
    if isinstance(value, Mapping):
        return [(_key(k), v) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, set | frozenset):
        return list(enumerate(sorted(value, key=repr)))
    if is_inert(value):
        if getattr(value, "kind", None) == "enum":
            return None  # shown whole, as Type.NAME
        return [(_key(k), v) for k, v in value.fields.items()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return None


def _key(key: Any) -> str | int:
    return key if isinstance(key, str | int) else repr(key)


def type_label(value: Any) -> str | None:
    """The type name shown before a container that is not a plain dict or list."""
    if is_inert(value):
        # The class's own name; the module path is in the copied value.
        return str(value.type_name).rsplit(".", 1)[-1]
    if isinstance(value, tuple | set | frozenset):
        return type(value).__name__
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value).__name__
    return None


_CHAT_ROLES: Final = {"human": "user", "ai": "assistant"}
"""LangChain's message types, named as chat roles."""


def chat_message(value: Any) -> tuple[str, str] | None:
    """``(role, text)`` when ``value`` reads as a chat message, else ``None``.

    A chat message is a mapping (or an object's fields: a LangChain message, revived
    or inert) with a ``content`` and a ``role`` (or LangChain's ``type``: ``human``
    reads as ``user``, ``ai`` as ``assistant``). Content made of parts (``[{"type":
    "text", "text": ...}]``) gives the text of its parts. The one reading of chat
    messages for the State tree, ``show`` and the LangGraph views.
    """
    if isinstance(value, Mapping):
        fields: Mapping[Any, Any] = value
    elif is_inert(value):
        fields = value.fields
    elif hasattr(value, "content") and hasattr(value, "type"):
        fields = {"content": value.content, "type": value.type}
    else:
        return None
    kind = fields.get("type")
    role = fields.get("role") or (
        _CHAT_ROLES.get(kind, kind) if isinstance(kind, str) else None
    )
    if "content" not in fields or not isinstance(role, str) or not role:
        return None
    content = fields["content"]
    if isinstance(content, list):
        parts = [
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        ]
        content = " ".join(p for p in parts if p)
    elif content is None:
        content = ""
    return role, content if isinstance(content, str) else repr(content)


def summarize(value: Any) -> tuple[Kind, str]:
    """A one-line summary of ``value`` and its kind.

    Containers give their size (``[4 items]``), long strings are folded, bytes are
    shown by size, datetimes and UUIDs in a readable form.
    """
    if is_inert(value) and getattr(value, "kind", None) == "enum":
        # An Enum member of a class this process may not import: Color.RED.
        return "type", f"{type_label(value)}.{value.fields.get('name')}"
    chat = chat_message(value)
    if chat is not None:  # a chat reads as one: who, and how it starts
        role, text = chat
        flat = text if ASCII else text.replace("\n", "↵")
        start = flat if len(flat) <= FOLD_AT else flat[:FOLD_AT] + "…"
        return "string", f"{role}: {start or '(empty)'}"
    members = children_of(value)
    if members is not None:
        count = len(members)
        if (
            isinstance(value, Mapping)
            or is_inert(value)
            or dataclasses.is_dataclass(value)
        ):
            noun = "key" if isinstance(value, Mapping) else "field"
            return "container", f"{{{counted(count, noun)}}}"
        return "container", f"[{counted(count, 'item')}]"
    if value is None:
        return "null", "null"
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return "number", str(value)
    if isinstance(value, str):
        return "string", fold(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes", f"<{format_size(len(value))} of bytes>"
    if isinstance(value, datetime):
        return "time", value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return "time", value.isoformat()
    if isinstance(value, timedelta):
        return "time", f"timedelta({value})"
    if isinstance(value, uuid.UUID):
        return "id", str(value)
    if isinstance(value, enum.Enum):
        return "type", f"{type(value).__name__}.{value.name}"
    return "type", fold(repr(value))


def fold(text: str, limit: int = FOLD_AT) -> str:
    """Quote ``text`` on one line, folded to ``limit`` characters with its length."""
    flat = text if ASCII else text.replace("\n", "↵")  # JSON shows \n in ASCII
    if len(flat) <= limit:
        return json.dumps(flat, ensure_ascii=False)
    return (
        json.dumps(flat[:limit], ensure_ascii=False)[:-1] + f'…" ({len(text):,} chars)'
    )


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def path_text(path: tuple[str | int, ...]) -> str:
    """A path into the state, jq-style: ``messages[0].content``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def to_plain(value: Any) -> Any:
    """``value`` as JSON-compatible data (for copying): unknown types become text."""
    members = children_of(value)
    if members is not None:
        if isinstance(value, list | tuple | set | frozenset):
            return [to_plain(v) for _, v in members]
        plain = {str(k): to_plain(v) for k, v in members}
        label = str(value.type_name) if is_inert(value) else type_label(value)
        return {"__type__": label, **plain} if label else plain
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if is_inert(value):  # an Enum member: its value, as for a revived one
        return to_plain(value.fields.get("value"))
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    return str(value)


def copy_text(value: Any) -> str:
    """The text put on the clipboard for ``value``: strings as they are, else JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value), ensure_ascii=False, indent=2)
