"""State values as editable JSON, and back, without losing a type.

JSON knows only objects, arrays, strings, numbers, booleans and null. Every other
value a checkpoint can hold is written as a *tagged object*: a JSON object whose one
``$``-key names the type, so that the editor shows it readably and saving restores
exactly the value that was shown:

=========================================  =============================================
value                                      JSON
=========================================  =============================================
``datetime(2026, 11, 2, 9, 30, tzinfo=UTC)``  ``{"$datetime": "2026-11-02T09:30:00+00:00"}``
``date`` / ``time``                        ``{"$date": "2026-11-02"}`` / ``{"$time": "09:30:00"}``
``timedelta(hours=1, microseconds=5)``     ``{"$timedelta": "3600.000005"}`` (seconds)
``UUID(...)``                              ``{"$uuid": "0f8fad5b-d9cb-469f-a165-70867728950e"}``
``Decimal("749.00")``                      ``{"$decimal": "749.00"}``
``b"\\x00\\xff"``                          ``{"$bytes": "AP8="}`` (base64)
``(1, 2)`` / ``{1, 2}`` / ``frozenset()``  ``{"$tuple": [1, 2]}`` / ``{"$set": [1, 2]}`` / ``{"$frozenset": []}``
``float("nan")``                           ``{"$float": "nan"}`` (also ``"inf"``, ``"-inf"``)
a dict with non-string or ``$`` keys       ``{"$dict": [[1, "one"], ["$ref", "x"]]}``
an Enum member                             ``{"$enum": "pkg.Color", "name": "RED", "value": 1}``
a dataclass / pydantic model               ``{"$dataclass": "pkg.Point", "fields": {...}}`` / ``{"$model": ...}``
a LangChain message (as the reader shows)  ``{"$message": "langchain_core.messages.human.HumanMessage", "fields": {"role": "user", "content": ...}}``
an inert value (class not loaded)          ``{"$inert": "pkg.Point", "kind": ..., "code": ..., "raw": <base64>, "fields": ...}``
=========================================  =============================================

Decoding never imports anything named in the text: Enum, dataclass and model classes
are revived only from the ``classes`` the caller passes (the graph's state schema).
An inert value is written back from its ``raw`` bytes; its ``fields`` are shown for
reading, and editing them is refused (the class is not loaded, so nothing could
re-encode them). A LangChain message read from a LangGraph database is the exception:
its fields are the message (role, content, tool calls...), shown and edited as such;
it is rebuilt from them, still inert (no class is imported).

This module writes the editor's text (:func:`encode`, :func:`dumps`);
:mod:`timeloom.tui.ops.jsondecode` reads it back (:func:`~.jsondecode.loads`: a JSON
syntax error says its line and column), and :mod:`timeloom.tui.ops.editcheck` checks
the result against the state.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.decode import is_message

MICROS = 1_000_000
"""Microseconds in a second (``$timedelta`` is written in them)."""
_PLAIN_TAGS = frozenset(
    {
        "$datetime",
        "$date",
        "$time",
        "$timedelta",
        "$uuid",
        "$decimal",
        "$bytes",
        "$tuple",
        "$set",
        "$frozenset",
        "$float",
        "$dict",
    }
)
TAG_EXTRAS: Mapping[str, frozenset[str]] = {
    **{tag: frozenset() for tag in _PLAIN_TAGS},
    "$datetime": frozenset({"zone", "fold"}),
    "$time": frozenset({"zone", "fold"}),
    "$enum": frozenset({"name", "value"}),
    "$dataclass": frozenset({"fields"}),
    "$model": frozenset({"fields"}),
    "$inert": frozenset({"kind", "code", "raw", "fields"}),
    "$message": frozenset({"fields"}),
}
"""Each tag and the other keys its object may carry."""


class JsonEditError(ValueError):
    """The editor's text cannot become state values; says where and why.

    Attributes:
        problems: one line per problem, each starting with where it is.
    """

    def __init__(
        self, problems: list[str], position: tuple[int, int] | None = None
    ) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.position = position
        """``(line, column)``, from 1, of a JSON syntax error."""


# -- encoding ----------------------------------------------------------------------


def encode(value: Any) -> Any:
    """Return ``value`` as plain JSON data (tagged objects for other types).

    Raises:
        TypeError: a value of a type that has no JSON form (e.g. a function).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):  # before int: IntEnum members are ints
        return {
            "$enum": qualname(type(value)),
            "name": value.name,
            "value": encode(value.value),
        }
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"$float": "nan" if math.isnan(value) else str(value)}
    if isinstance(value, Mapping) and not isinstance(value, Inert):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        return encoder(value)
    for base, enc in _ENCODERS.items():  # subclasses (NamedTuple, OrderedSet...)
        if isinstance(value, base):
            return enc(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"$dataclass": qualname(type(value)), "fields": encode(fields)}
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        return {"$model": qualname(type(value)), "fields": encode(fields)}
    raise TypeError(f"{type(value).__qualname__} has no JSON form")


def dumps(values: Mapping[str, Any]) -> str:
    """Return state values as the editor's indented JSON text.

    Objects and arrays without nested containers stay on one line when short, so
    that a tagged value reads ``"amount": {"$decimal": "749.00"}``.
    """
    out: list[str] = []
    _pretty(encode(dict(values)), 0, out)
    return "".join(out)


_INLINE_WIDTH = 60


def _pretty(data: Any, depth: int, out: list[str]) -> None:
    if isinstance(data, dict | list):
        flat = _flat(data)
        if flat is not None:
            out.append(flat)
            return
        pad = "  " * (depth + 1)
        if isinstance(data, dict):
            out.append("{")
            for i, (key, value) in enumerate(data.items()):
                out.append(
                    f"{',' if i else ''}\n{pad}{json.dumps(key, ensure_ascii=False)}: "
                )
                _pretty(value, depth + 1, out)
            out.append(f"\n{'  ' * depth}}}")
        else:
            out.append("[")
            for i, item in enumerate(data):
                out.append(f"{',' if i else ''}\n{pad}")
                _pretty(item, depth + 1, out)
            out.append(f"\n{'  ' * depth}]")
        return
    out.append(json.dumps(data, ensure_ascii=False))


def _flat(data: dict[str, Any] | list[Any]) -> str | None:
    """``data`` on one line, if it is empty or short and holds no containers."""
    items = data.values() if isinstance(data, dict) else data
    if not items:
        return "{}" if isinstance(data, dict) else "[]"
    if len(items) > 8 or any(isinstance(item, dict | list) for item in items):
        return None
    text = json.dumps(data, ensure_ascii=False)
    return text if len(text) <= _INLINE_WIDTH else None


def qualname(cls: type) -> str:
    """``module.qualname``: how a tagged object names its class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _sorted_items(items: Iterable[Any]) -> list[Any]:
    # Sets have no order; sort by the encoded text so equal sets read the same.
    encoded = [encode(item) for item in items]
    return sorted(encoded, key=lambda e: json.dumps(e, sort_keys=True))


def _enc_datetime(value: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"$datetime": value.isoformat()}
    _add_zone(out, value.tzinfo, value.fold)
    return out


def _enc_time(value: time) -> dict[str, Any]:
    out: dict[str, Any] = {"$time": value.isoformat()}
    _add_zone(out, value.tzinfo, value.fold)
    return out


def _add_zone(out: dict[str, Any], tzinfo: Any, fold: int) -> None:
    if isinstance(tzinfo, ZoneInfo) and tzinfo.key:
        out["zone"] = tzinfo.key
    if fold:
        out["fold"] = fold


def _enc_timedelta(value: timedelta) -> dict[str, Any]:
    total = (value.days * 86_400 + value.seconds) * MICROS + value.microseconds
    return {"$timedelta": str(Decimal(total).scaleb(-6).normalize())}


def _enc_inert(value: Inert) -> dict[str, Any]:
    if is_message(value) and value.fields is not None:
        return {"$message": value.type_name, "fields": encode(dict(value.fields))}
    return {
        "$inert": value.type_name,
        "kind": value.kind,
        "code": value.code,
        "raw": base64.b64encode(value.raw).decode("ascii"),
        "fields": None if value.fields is None else encode(dict(value.fields)),
    }


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    datetime: _enc_datetime,
    date: lambda v: {"$date": v.isoformat()},
    time: _enc_time,
    timedelta: _enc_timedelta,
    uuid.UUID: lambda v: {"$uuid": str(v)},
    Decimal: lambda v: {"$decimal": str(v)},
    bytes: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    bytearray: lambda v: {"$bytes": base64.b64encode(bytes(v)).decode("ascii")},
    tuple: lambda v: {"$tuple": [encode(item) for item in v]},
    set: lambda v: {"$set": _sorted_items(v)},
    frozenset: lambda v: {"$frozenset": _sorted_items(v)},
    Inert: _enc_inert,
}
