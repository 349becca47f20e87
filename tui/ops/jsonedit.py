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

:func:`loads` reads the editor's text (a JSON syntax error says its line and
column); :mod:`timeloom.tui.ops.editcheck` checks the result against the state.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.decode import inert, is_message

_US = 1_000_000
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
# Each tag and the other keys its object may carry.
_TAG_EXTRAS: Mapping[str, frozenset[str]] = {
    **{tag: frozenset() for tag in _PLAIN_TAGS},
    "$datetime": frozenset({"zone", "fold"}),
    "$time": frozenset({"zone", "fold"}),
    "$enum": frozenset({"name", "value"}),
    "$dataclass": frozenset({"fields"}),
    "$model": frozenset({"fields"}),
    "$inert": frozenset({"kind", "code", "raw", "fields"}),
    "$message": frozenset({"fields"}),
}


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
            "$enum": _qualname(type(value)),
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
        return {"$dataclass": _qualname(type(value)), "fields": encode(fields)}
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        return {"$model": _qualname(type(value)), "fields": encode(fields)}
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


def _qualname(cls: type) -> str:
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
    total = (value.days * 86_400 + value.seconds) * _US + value.microseconds
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


# -- decoding ----------------------------------------------------------------------


def decode(data: Any, classes: Iterable[type] = ()) -> Any:
    """Turn plain JSON data back into values: the inverse of :func:`encode`.

    Args:
        data: what ``json.loads`` returned.
        classes: the Enum, dataclass and model classes that may be revived
            (by ``module.qualname``); nothing else is ever looked up.

    Raises:
        JsonEditError: a malformed tagged object, naming its path.
    """
    known = {_qualname(cls): cls for cls in classes}
    problems: list[str] = []
    value = _decode(data, "", known, problems)
    if problems:
        raise JsonEditError(problems)
    return value


def _decode(data: Any, path: str, known: dict[str, type], problems: list[str]) -> Any:
    if isinstance(data, list):
        return [
            _decode(item, f"{path}[{i}]", known, problems)
            for i, item in enumerate(data)
        ]
    if not isinstance(data, dict):
        return data
    tags = [key for key in data if key.startswith("$")]
    if not tags:
        return {
            key: _decode(value, _join(path, key), known, problems)
            for key, value in data.items()
        }
    where = path or "(top level)"
    tag = tags[0]
    extras = _TAG_EXTRAS.get(tag)
    if extras is None or len(tags) > 1:
        problems.append(
            f"{where}: unknown tag {tag!r}; to write a key that starts with '$', use "
            f'{{"$dict": [["{tag}", value]]}}'
        )
        return None
    unexpected = sorted(set(data) - {tag} - extras)
    if unexpected:
        problems.append(f"{where}: {tag} does not take {', '.join(unexpected)}")
        return None
    try:
        return _DECODERS[tag](data, path, known, problems)
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        problems.append(f"{where}: invalid {tag} value {data[tag]!r} ({exc})")
        return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _dec_datetime(data: dict[str, Any], *_: Any) -> datetime:
    value = datetime.fromisoformat(_text(data["$datetime"]))
    if "zone" in data:
        value = value.replace(tzinfo=_zone(data["zone"]))
    return value.replace(fold=int(data.get("fold", 0)))


def _dec_time(data: dict[str, Any], *_: Any) -> time:
    value = time.fromisoformat(_text(data["$time"]))
    if "zone" in data:
        value = value.replace(tzinfo=_zone(data["zone"]))
    return value.replace(fold=int(data.get("fold", 0)))


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_text(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _dec_timedelta(data: dict[str, Any], *_: Any) -> timedelta:
    try:
        seconds = Decimal(_text(data["$timedelta"]))
    except InvalidOperation as exc:
        raise ValueError('expected seconds, e.g. "3600.5"') from exc
    micros = seconds.scaleb(6)
    if micros != micros.to_integral_value():
        raise ValueError("more precise than a microsecond")
    return timedelta(microseconds=int(micros))


def _dec_decimal(data: dict[str, Any], *_: Any) -> Decimal:
    try:
        return Decimal(_text(data["$decimal"]))
    except InvalidOperation as exc:
        raise ValueError("not a decimal number") from exc


def _dec_bytes(data: dict[str, Any], *_: Any) -> bytes:
    try:
        return base64.b64decode(_text(data["$bytes"]), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def _dec_float(data: dict[str, Any], *_: Any) -> float:
    text = _text(data["$float"])
    if text not in ("nan", "inf", "-inf"):
        raise ValueError('expected "nan", "inf" or "-inf"')
    return float(text)


def _items(
    data: dict[str, Any],
    tag: str,
    path: str,
    known: dict[str, type],
    problems: list[str],
) -> list[Any]:
    items = data[tag]
    if not isinstance(items, list):
        raise TypeError("expected an array")
    return [
        _decode(item, f"{path}[{i}]", known, problems) for i, item in enumerate(items)
    ]


def _dec_set(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> set[Any] | frozenset[Any]:
    tag = "$set" if "$set" in data else "$frozenset"
    items = _items(data, tag, path, known, problems)
    try:
        return set(items) if tag == "$set" else frozenset(items)
    except TypeError as exc:
        raise TypeError("set items must be hashable (no lists or dicts)") from exc


def _dec_dict(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for pair in _items(data, "$dict", path, known, problems):
        if not isinstance(pair, list) or len(pair) != 2:
            raise TypeError("expected [key, value] pairs")
        try:
            out[pair[0]] = pair[1]
        except TypeError as exc:
            raise TypeError(f"key {pair[0]!r} is not hashable") from exc
    return out


def _dec_enum(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> Any:
    cls = _known_class(data["$enum"], known)
    if not issubclass(cls, enum.Enum):
        raise TypeError(f"{data['$enum']} is not an Enum")
    return cls[_text(data["name"])]


def _dec_object(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> Any:
    tag = "$dataclass" if "$dataclass" in data else "$model"
    cls = _known_class(data[tag], known)
    fields = _decode(data.get("fields", {}), _join(path, "fields"), known, problems)
    if not isinstance(fields, dict):
        raise TypeError("fields must be an object")
    validate = getattr(cls, "model_validate", None)
    try:
        return validate(fields) if validate is not None else cls(**fields)
    except Exception as exc:  # the application class rejected the fields
        raise ValueError(f"{cls.__qualname__} refused the fields: {exc}") from exc


def _dec_inert(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> Inert:
    kind = data.get("kind")
    if kind not in ("enum", "dataclass", "pydantic", "ext"):
        raise ValueError(f"unknown kind {kind!r}")
    code = data.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError("code must be an integer")
    try:
        raw = base64.b64decode(_text(data.get("raw")), validate=True)
    except binascii.Error as exc:
        raise ValueError("raw is not base64") from exc
    fields = data.get("fields")
    decoded = None
    if fields is not None:
        decoded = _decode(fields, _join(path, "fields"), known, problems)
        if not isinstance(decoded, dict):
            raise TypeError("fields must be an object or null")
    return Inert(_text(data["$inert"]), decoded, raw, kind, code)


def _dec_message(
    data: dict[str, Any], path: str, known: dict[str, type], problems: list[str]
) -> Inert:
    fields = _decode(data.get("fields"), _join(path, "fields"), known, problems)
    if not isinstance(fields, dict) or "role" not in fields:
        raise TypeError('fields must be an object with a "role"')
    message = inert(_text(data["$message"]), fields, model=True)
    if not is_message(message):
        raise ValueError("not a LangChain message type")
    return message


def _known_class(name: Any, known: dict[str, type]) -> type:
    cls = known.get(_text(name))
    if cls is None:
        raise ValueError(
            f"class {name} is not in the graph's state schema, so it cannot be "
            f"revived here (known: {', '.join(sorted(known)) or 'none'})"
        )
    return cls


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


_DECODERS: dict[
    str, Callable[[dict[str, Any], str, dict[str, type], list[str]], Any]
] = {
    "$datetime": _dec_datetime,
    "$date": lambda d, *_: date.fromisoformat(_text(d["$date"])),
    "$time": _dec_time,
    "$timedelta": _dec_timedelta,
    "$uuid": lambda d, *_: uuid.UUID(_text(d["$uuid"])),
    "$decimal": _dec_decimal,
    "$bytes": _dec_bytes,
    "$float": _dec_float,
    "$tuple": lambda d, p, k, pr: tuple(_items(d, "$tuple", p, k, pr)),
    "$set": _dec_set,
    "$frozenset": _dec_set,
    "$dict": _dec_dict,
    "$enum": _dec_enum,
    "$dataclass": _dec_object,
    "$model": _dec_object,
    "$inert": _dec_inert,
    "$message": _dec_message,
}


# -- text ------------------------------------------------------------------------------


def loads(text: str, classes: Iterable[type] = ()) -> Any:
    """Parse the editor's text and decode it.

    Raises:
        JsonEditError: invalid JSON (``line L, column C: message``) or a bad tag.
    """
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonEditError(
            [f"line {exc.lineno}, column {exc.colno}: {exc.msg}"],
            (exc.lineno, exc.colno),
        ) from exc
    except ValueError as exc:
        raise JsonEditError([str(exc)]) from exc
    return decode(data, classes)


def _reject_constant(name: str) -> Any:
    raise ValueError(f'{name} is not JSON; write {{"$float": "{name.lower()}"}}')
