"""Queries over checkpoints, in JMESPath (https://jmespath.org).

JMESPath is a small, fully specified query language for JSON: it selects, filters
and compares, and has no way to call Python, import anything or touch the file
system, so a query typed by a user (or pasted from an incident ticket) can never
run code. Each checkpoint is queried as one JSON document::

    {"thread_id": ..., "checkpoint_id": ..., "step": 3, "source": "loop",
     "nodes": ["tool"], "next": ["agent"], "created_at": "2026-...",
     "metadata": {...}, "values": {...}}

Values are plain JSON: numbers (``Decimal`` too) stay numbers, times and ids
become strings, tuples and sets lists, messages, dataclasses, models and inert
values objects of their fields (with ``__type__``). A checkpoint *matches* when
the query's result is true in JMESPath's sense: not null, false, ``""``, ``[]``
or ``{}``; a query that fails on a checkpoint (a function given null) does not
hold there. Examples::

    values.amount > `500`
    values.messages[?role == 'tool' && contains(content, 'timeout')]
    values.refund.amount > values.order.total
    metadata.user == 'ada' && step > `3`
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final

import jmespath
import jmespath.exceptions
import jmespath.functions
import jmespath.parser

from timeloom.backends.inert import Inert
from timeloom.core.checkpoint import CheckpointMeta, UnreadableValue
from timeloom.core.errors import TimeloomError

MAX_QUERY: Final = 2_000
"""Longest query accepted (a query is typed, not generated)."""

_DEPTH: Final = 64


class QueryError(TimeloomError):
    """A query that is not valid JMESPath; the message says where and why."""

    default_title = "Bad query"


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled query."""

    text: str
    expression: jmespath.parser.ParsedResult

    def result(self, document: Mapping[str, Any]) -> Any:
        """The query's result on a checkpoint document; ``None`` where it fails
        there (a function given a value of the wrong type, such as
        ``length(values.messages)`` before ``messages`` exists)."""
        try:
            return self.expression.search(document)
        except jmespath.exceptions.JMESPathError:
            return None

    def holds(self, document: Mapping[str, Any]) -> bool:
        """Whether the query is true on the document (see the module docstring)."""
        return truthy(self.result(document))


def compile_query(text: str) -> Query:
    """Parse a JMESPath query.

    Raises:
        QueryError: it is empty, too long or not valid JMESPath.
    """
    if not text.strip():
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters")
    try:
        expression = jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        raise QueryError(f"not a valid JMESPath query: {exc}") from exc
    _check_functions(expression.parsed)
    return Query(text, expression)


_FUNCTIONS: Final = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)


def _check_functions(node: Any) -> None:
    """Refuse a function JMESPath does not define now, not at the first checkpoint
    (JMESPath itself only notices when it evaluates the call)."""
    if isinstance(node, dict):
        if node.get("type") == "function_expression" and node.get("value") not in (
            _FUNCTIONS
        ):
            raise QueryError(
                f"unknown function {node.get('value')}(): JMESPath has "
                f"{', '.join(sorted(_FUNCTIONS))}"
            )
        for child in node.get("children", ()):
            _check_functions(child)


def truthy(result: Any) -> bool:
    """JMESPath's truth: everything but null, false and empty strings/lists/objects."""
    if result is None or result is False:
        return False
    if isinstance(result, str | list | dict):
        return bool(result)
    return True


def document(meta: CheckpointMeta, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON document a query sees for a checkpoint (values may be left out)."""
    return {
        "thread_id": meta.thread_id,
        "checkpoint_id": meta.id,
        "step": meta.step,
        "source": meta.source,
        "nodes": list(meta.nodes),
        "next": list(meta.next),
        "created_at": meta.created_at.isoformat(),
        "metadata": plain(meta.metadata),
        "values": plain(values) if values is not None else None,
    }


class PlainCache:
    """Plain forms of values, converted once where a thread's checkpoints share
    them. Bounded.

    A channel is remembered by its content token (see
    :func:`timeloom.backends.scan.entry_tokens`): unchanged across many
    checkpoints, it is converted once. A list's items are remembered by identity:
    the readers build a grown list around the same item objects (Timeloom's from
    shared chunks, LangGraph's from the parent's decoded list), so a list that
    grew by one item costs one conversion, not ``n``.
    """

    def __init__(self, size: int = 4096, items: int = 100_000) -> None:
        self._size = size
        self._item_size = items
        self._plain: dict[Hashable, Any] = {}
        # id -> (the object, kept alive so that its id is not reused; its form)
        self._items: dict[int, tuple[Any, Any]] = {}

    def values(
        self, values: Mapping[str, Any], tokens: Mapping[str, Hashable] | None
    ) -> dict[str, Any]:
        """``values`` in plain form, reusing conversions of the same tokens."""
        out: dict[str, Any] = {}
        for key, value in values.items():
            token = tokens.get(key) if tokens is not None else None
            if token is None:
                out[str(key)] = self._convert(value)
                continue
            found = self._plain.get(token, _MISSING)
            if found is _MISSING:
                found = self._convert(value)
                if len(self._plain) >= self._size:
                    self._plain.pop(next(iter(self._plain)))
                self._plain[token] = found
            out[str(key)] = found
        return out

    def _convert(self, value: Any) -> Any:
        if type(value) is not list:
            return plain(value)
        out = []
        for item in value:
            kept = self._items.get(id(item))
            if kept is None or kept[0] is not item:
                kept = (item, plain(item, 1))
                if len(self._items) >= self._item_size:
                    self._items.pop(next(iter(self._items)))
                self._items[id(item)] = kept
            out.append(kept[1])
        return out


_MISSING = object()


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data for a query (see the module docstring)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if depth > _DEPTH:
        return "…"
    if isinstance(value, UnreadableValue):
        return {"__type__": "unreadable", "reason": value.reason}
    if isinstance(value, Inert):
        fields = value.fields or {}
        if value.kind == "enum":
            return plain(fields.get("value"), depth + 1)
        return {"__type__": value.type_name, **plain(dict(fields), depth + 1)}
    if isinstance(value, enum.Enum):
        return plain(value.value, depth + 1)
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return [plain(v, depth + 1) for v in sorted(value, key=repr)]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        members = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **plain(members, depth + 1)}
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
        members = {name: getattr(value, name) for name in type(value).model_fields}
        return {"__type__": type(value).__name__, **plain(members, depth + 1)}
    return str(value)
