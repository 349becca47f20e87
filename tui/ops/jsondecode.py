"""Reading the editor's text back into state values: the inverse of
:func:`~timeloom.tui.ops.jsonedit.encode` (the format is described there).

:func:`loads` parses the text (a JSON syntax error says its line and column) and
:func:`decode` revives the tagged objects; a class is revived only when it is one
of the classes given (the graph's schema), never looked up by name.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.decode import inert, is_message
from timeloom.tui.ops.jsonedit import TAG_EXTRAS, JsonEditError, qualname

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
    known = {qualname(cls): cls for cls in classes}
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
    extras = TAG_EXTRAS.get(tag)
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
