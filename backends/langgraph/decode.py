"""Safe decoding of LangGraph blobs: nothing named in the data is imported or called.

LangGraph's own serializer revives stored objects with
``getattr(import_module(module), name)(payload)``; with its permissive default that
runs any callable a database names. This module reads the same bytes with plain
``msgpack`` and a fixed table instead:

- standard-library values (datetime, date, time, timedelta, timezone, UUID, Decimal,
  set, frozenset, deque, paths, IP addresses, ZoneInfo) are rebuilt by *our* code,
  keyed by ``(module, name)``; the name in the data only selects a table row;
- everything else (dataclasses, pydantic models, LangChain messages, ``Send``,
  ``Interrupt``, Enum members, unknown types) becomes the codec's
  :class:`~timeloom.backends.inert.Inert` value, showing the type name and the
  stored fields (an Enum member as ``{"value": ...}``: LangGraph stores no name);
- LangChain messages are inert pydantic values whose fields start with ``role``
  (``user``, ``assistant``, ``system``, ``tool``...), then ``content``,
  ``tool_calls``...; empty default fields are left out;
- pydantic ``SecretStr``/``SecretBytes`` are masked: the plaintext never leaves here;
- ``pickle`` blobs and encrypted blobs (``msgpack+aes``...) are never decoded, only
  labelled (``langgraph.pickle`` / ``langgraph.encrypted`` with type and size);
- a blob that fails to decode becomes an inert ``langgraph.undecodable`` value with
  the error, so the rest of a checkpoint stays readable.

Every inert value made here is stored in the payload format of Timeloom's codec, so
it can be exported to a Timeloom database and read back unchanged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import pathlib
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import msgpack

from timeloom.backends.inert import Inert, InertKind
from timeloom.backends.langgraph.spans import channel_spans
from timeloom.backends.serde import EXT_DATACLASS, EXT_PYDANTIC, Serializer
from timeloom.core.errors import SerializationError

__all__ = [
    "MASK",
    "Inert",
    "clear_cache",
    "decode_json_text",
    "decode_metadata",
    "decode_msgpack",
    "decode_typed",
    "inert",
    "is_message",
]

MASK: Final = "**********"
"""What a stored secret is shown as."""

_PREVIEW_BYTES = 32


_SERDE: Final = Serializer()


def inert(type_name: str, fields: Mapping[str, Any], *, model: bool = False) -> Inert:
    """An inert value in the shape Timeloom's own codec stores and re-reads.

    The payload is what :class:`~timeloom.backends.serde.Serializer` writes for a
    dataclass (or, with ``model``, a pydantic model) of that name, so a checkpoint
    read here can be written to a Timeloom database and read back unchanged.
    """
    module, _, name = type_name.rpartition(".")
    kind: InertKind = "pydantic" if model else "dataclass"
    code = EXT_PYDANTIC if model else EXT_DATACLASS
    fields = dict(fields)
    try:
        raw = _SERDE.dumps([module, name, fields])
    except SerializationError:
        # A value our codec has no type for (an IP address, a path...): keep its repr.
        fields = {k: repr(v) for k, v in fields.items()}
        raw = _SERDE.dumps([module, name, fields])
    return Inert(type_name, fields, raw, kind, code)


# -- LangChain messages --------------------------------------------------------------

_ROLES: Final = {
    "ai": "assistant",
    "human": "user",
    "system": "system",
    "tool": "tool",
    "function": "function",
    "remove": "remove",
    "developer": "developer",
}
_MESSAGE_FIRST: Final = ("content", "tool_calls", "tool_call_id", "name", "id")
_MESSAGE_MODULES: Final = ("langchain_core.messages", "langchain.schema")


def is_message(value: Any) -> bool:
    """Whether ``value`` is an inert LangChain message (``fields["role"]`` is set)."""
    return (
        isinstance(value, Inert)
        and value.type_name.startswith(_MESSAGE_MODULES)
        and value.fields is not None
        and "role" in value.fields
    )


def _message(type_name: str, fields: Mapping[str, Any]) -> Inert:
    """A LangChain message as an inert value: ``role`` first, then the main fields.

    Empty fields (``{}``, ``[]``, ``None``) other than ``content`` are dropped: they
    are LangChain defaults and would bury the conversation in noise.
    """
    kind = str(fields.get("type", "")).removesuffix("Chunk")
    role = fields.get("role") if kind == "chat" else None
    role = role or _ROLES.get(kind) or kind or type_name.rpartition(".")[2]
    out: dict[str, Any] = {"role": role}
    for key in (*_MESSAGE_FIRST, *fields):
        if key in out or key not in fields or key == "type":
            continue
        value = fields[key]
        if key != "content" and value in (None, {}, [], ""):
            continue
        out[key] = value
    return inert(type_name, out, model=True)


def _is_message_type(module: str, name: str) -> bool:
    return module.startswith("langchain_core.messages") or (
        module.startswith("langchain.schema") and name.endswith("Message")
    )


# -- the allowlist of standard-library values ---------------------------------------
# Each builder receives the decoded payload and rebuilds the value with our own
# code. A payload of the wrong shape raises, and the caller shows the ext as inert.


def _uuid(arg: Any) -> uuid.UUID:
    return uuid.UUID(hex=str(arg))


def _decimal(arg: Any) -> Decimal:
    return Decimal(str(arg))


def _items(arg: Any) -> list[Any]:
    if not isinstance(arg, list | tuple):
        raise TypeError("expected an array")
    return list(arg)


def _zone(arg: Any) -> Any:
    try:
        return zoneinfo.ZoneInfo(str(arg))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return inert("zoneinfo.ZoneInfo", {"key": str(arg)})


def _path(args: Any) -> pathlib.PurePath:
    return pathlib.PurePath(*(str(part) for part in _items(args)))


def _timedelta(args: Any) -> dt.timedelta:
    days, seconds, micros = (int(x) for x in _items(args))
    return dt.timedelta(days=days, seconds=seconds, microseconds=micros)


def _date(args: Any) -> dt.date:
    year, month, day = (int(x) for x in _items(args))
    return dt.date(year, month, day)


def _timezone(args: Any) -> dt.timezone:
    items = _items(args)
    offset = items[0]
    if not isinstance(offset, dt.timedelta):
        raise TypeError("timezone offset must be a timedelta")
    return dt.timezone(offset, str(items[1])) if len(items) > 1 else dt.timezone(offset)


_TIME_KEYS: Final = ("hour", "minute", "second", "microsecond", "tzinfo", "fold")


def _time(kwargs: Any) -> dt.time:
    if not isinstance(kwargs, dict) or not set(kwargs) <= set(_TIME_KEYS):
        raise TypeError("unexpected time fields")
    tz = kwargs.get("tzinfo")
    if tz is not None and not isinstance(tz, dt.tzinfo):
        raise TypeError("tzinfo must be a tzinfo")
    return dt.time(
        int(kwargs.get("hour", 0)),
        int(kwargs.get("minute", 0)),
        int(kwargs.get("second", 0)),
        int(kwargs.get("microsecond", 0)),
        tz,
        fold=int(kwargs.get("fold", 0)),
    )


def _secret(module: str, name: str) -> Inert:
    return inert(f"{module}.{name}", {"value": MASK}, model=True)


_ADDRESSES: Final = (
    "IPv4Address",
    "IPv6Address",
    "IPv4Interface",
    "IPv6Interface",
    "IPv4Network",
    "IPv6Network",
)


def _address(name: str) -> Callable[[Any], Any]:
    def build(arg: Any) -> Any:
        builder = {
            "IPv4Address": ipaddress.IPv4Address,
            "IPv6Address": ipaddress.IPv6Address,
            "IPv4Interface": ipaddress.IPv4Interface,
            "IPv6Interface": ipaddress.IPv6Interface,
            "IPv4Network": ipaddress.IPv4Network,
            "IPv6Network": ipaddress.IPv6Network,
        }[name]
        return builder(str(arg))

    return build


_PATH_NAMES: Final = ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath")

SINGLE_ARG: Final[dict[tuple[str, str], Callable[[Any], Any]]] = {
    ("uuid", "UUID"): _uuid,
    ("decimal", "Decimal"): _decimal,
    ("builtins", "set"): lambda a: set(_items(a)),
    ("builtins", "frozenset"): lambda a: frozenset(_items(a)),
    # A deque reads back as a list: the codecs we write to have no deque type.
    ("collections", "deque"): _items,
    ("zoneinfo", "ZoneInfo"): _zone,
    **{("ipaddress", name): _address(name) for name in _ADDRESSES},
}
"""Ext 0 ``(module, name, arg)`` values we rebuild ourselves."""

POS_ARGS: Final[dict[tuple[str, str], Callable[[Any], Any]]] = {
    ("datetime", "timedelta"): _timedelta,
    ("datetime", "date"): _date,
    ("datetime", "timezone"): _timezone,
    **{("pathlib", name): _path for name in _PATH_NAMES},
}
"""Ext 1 ``(module, name, args)`` values we rebuild ourselves."""

KW_ARGS: Final[dict[tuple[str, str], Callable[[Any], Any]]] = {
    ("datetime", "time"): _time,
}
"""Ext 2 ``(module, name, kwargs)`` values we rebuild ourselves."""

_ISO_PARSERS: Final[dict[tuple[str, str], Callable[[str], Any]]] = {
    ("datetime", "datetime"): dt.datetime.fromisoformat,
    ("datetime", "date"): dt.date.fromisoformat,
    ("datetime", "time"): dt.time.fromisoformat,
}
"""Ext 3 ``(module, name, arg, "fromisoformat")``: parsed by the standard library."""

_SECRETS: Final = {"SecretStr", "SecretBytes"}


# -- msgpack ---------------------------------------------------------------------------


def _unpack(data: bytes, *, use_list: bool = True) -> Any:
    return msgpack.unpackb(
        data,
        ext_hook=_ext_hook_list if use_list else _ext_hook_tuple,
        strict_map_key=False,
        raw=False,
        use_list=use_list,
    )


def _ext_hook_list(code: int, data: bytes) -> Any:
    return _ext(code, data, use_list=True)


ext_hook: Final = _ext_hook_list
"""The msgpack ``ext_hook`` that decodes LangGraph's ext types safely."""


def _ext_hook_tuple(code: int, data: bytes) -> Any:
    return _ext(code, data, use_list=False)


def _unknown_ext(code: int, data: bytes) -> Inert:
    return inert(
        f"langgraph.ext{code}",
        {"size": len(data), "hex": data[:_PREVIEW_BYTES].hex()},
    )


# A history repeats the same stored objects in checkpoint after checkpoint (a chat's
# messages are re-stored whole at every step): decode each distinct payload once.
# Only immutable results are shared (inert values are frozen; treat their fields as
# read-only too).
_CACHE: dict[tuple[int, bytes, bool], Any] = {}
_CACHE_MAX: Final = 50_000
_MUTABLE: Final = (list, dict, set, bytearray)


# Each nested ext value is decoded by a nested msgpack call, whose C frame is tens
# of kilobytes: about 200 levels (a crafted blob of ~600 bytes) overflow the C stack
# and kill the process. Below this depth a value is shown as inert instead.
MAX_EXT_DEPTH: Final = 32
"""Ext values nested deeper than this read as an inert ``langgraph.too_deep``."""

_nesting = threading.local()


def _ext(code: int, data: bytes, *, use_list: bool) -> Any:
    key = (code, data, use_list)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    depth: int = getattr(_nesting, "depth", 0)
    if depth >= MAX_EXT_DEPTH:
        _nesting.cut = True
        return inert(
            "langgraph.too_deep",
            {"size": len(data), "limit": f"more than {MAX_EXT_DEPTH} nested values"},
        )
    cut_above: bool = getattr(_nesting, "cut", False)
    _nesting.depth, _nesting.cut = depth + 1, False
    try:
        value = _ext_uncached(code, data, use_list=use_list)
        cut = _nesting.cut
    finally:
        _nesting.depth, _nesting.cut = depth, cut_above or _nesting.cut
    # A value cut short depends on the depth it was met at: never shared.
    if not cut and not isinstance(value, _MUTABLE):
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = value
    return value


def clear_cache() -> None:
    """Forget decoded payloads (benchmarks measure cold reads with it)."""
    _CACHE.clear()


def _ext_uncached(code: int, data: bytes, *, use_list: bool) -> Any:
    if code == 7:  # _DeltaSnapshot: the payload is the full channel value
        return _unpack(data, use_list=use_list)
    if code == 6:  # numpy array: described, never rebuilt
        try:
            dtype, shape, order, buffer = _unpack(data)[:4]
        except (ValueError, TypeError, msgpack.UnpackException):
            return _unknown_ext(code, data)
        return inert(
            "numpy.ndarray",
            {"dtype": dtype, "shape": shape, "order": order, "nbytes": len(buffer)},
        )
    if code not in (0, 1, 2, 3, 4, 5):
        return _unknown_ext(code, data)
    try:
        payload = _unpack(data, use_list=use_list)
        module, name, arg = payload[0], payload[1], payload[2]
        if not isinstance(module, str) or not isinstance(name, str):
            raise TypeError("module and name must be strings")
    except (ValueError, TypeError, IndexError, KeyError, msgpack.UnpackException):
        return _unknown_ext(code, data)
    return _constructed(code, module, name, arg, payload)


def _constructed(code: int, module: str, name: str, arg: Any, payload: Any) -> Any:
    key = (module, name)
    builder: Callable[[Any], Any] | None = None
    if code == 0:
        if name in _SECRETS and module.startswith("pydantic"):
            return _secret(module, name)
        builder = SINGLE_ARG.get(key)
    elif code == 1:
        builder = POS_ARGS.get(key)
    elif code == 2:
        builder = KW_ARGS.get(key)
    elif code == 3:
        method = payload[3] if len(payload) > 3 else None
        parser = _ISO_PARSERS.get(key) if method == "fromisoformat" else None
        if parser is not None and isinstance(arg, str):
            builder = lambda a: parser(a)  # noqa: E731 - bind the checked parser
    if builder is not None:
        try:
            return builder(arg)
        except (ValueError, TypeError, KeyError, IndexError, InvalidOperation):
            pass  # a malformed payload is shown as stored, below
    return _inert_object(code, module, name, arg)


def _inert_object(code: int, module: str, name: str, arg: Any) -> Inert:
    type_name = f"{module}.{name}" if module else name
    if code in (4, 5):
        fields = arg if isinstance(arg, dict) else {"value": arg}
        if _is_message_type(module, name):
            return _message(type_name, fields)
        return inert(type_name, fields, model=True)
    if code == 1:
        return inert(type_name, {"args": arg})
    if code == 2 and isinstance(arg, dict):
        return inert(type_name, arg)
    # Enum members (stored by value) and any other one-argument constructor.
    return inert(type_name, {"value": arg})


def decode_msgpack(data: bytes) -> Any:
    """Decode LangGraph msgpack bytes without importing or calling anything.

    Raises:
        ValueError: the bytes are not valid msgpack (see :func:`decode_typed`, which
            turns that into an inert error value).
    """
    try:
        return _unpack(data)
    except TypeError:
        # A map key that is an array (a tuple key written with OPT_NON_STR_KEYS)
        # cannot be a list; decode arrays as tuples instead.
        return _unpack(data, use_list=False)


# -- JSON (legacy blobs and metadata) -----------------------------------------------


def _lc_envelope(obj: dict[str, Any]) -> Any:
    ident = obj.get("id")
    parts = [str(p) for p in ident] if isinstance(ident, list) else [str(ident)]
    name = parts[-1] if parts else "?"
    type_name = ".".join(parts)
    kind = obj.get("type")
    if kind == "secret":
        return inert(type_name, {"value": MASK}, model=True)
    if kind == "not_implemented":
        return inert(type_name, {"repr": obj.get("repr")})
    fields: dict[str, Any] = dict(obj.get("kwargs") or {})
    if obj.get("args"):
        fields["args"] = obj["args"]
    if obj.get("lc") == 1 and name.endswith("Message"):
        fields.setdefault("type", name.removesuffix("Message").lower())
        return _message(type_name, fields)
    return inert(type_name, fields)


def _walk_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_walk_json(v) for v in value]
    if isinstance(value, dict):
        walked = {k: _walk_json(v) for k, v in value.items()}
        if walked.get("lc") in (1, 2) and "type" in walked and "id" in walked:
            return _lc_envelope(walked)
        return walked
    return value


def decode_metadata(stored: Any) -> dict[str, Any]:
    """A checkpoint's metadata from its stored JSON (text, bytes or ``None``), as both
    LangGraph savers store it. JSON that does not decode reads as
    ``{"langgraph.metadata_error": <inert>}``, and a value that is not an object as
    ``{"value": value}``: a listing never fails on one row's metadata."""
    if stored is None:
        return {}
    try:
        # Decoding to str first spares json.loads its encoding detection.
        text = (
            stored if isinstance(stored, str) else stored_bytes(stored).decode("utf-8")
        )
        value = decode_json_text(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return {
            "langgraph.metadata_error": inert(
                "langgraph.undecodable", {"error": str(exc)}
            )
        }
    return value if isinstance(value, dict) else {"value": value}


def decode_json_text(text: str | bytes) -> Any:
    """Parse JSON and show LangChain ``lc`` envelopes as inert values (no revival)."""
    value = json.loads(text)
    marker: str | bytes = '"lc"' if isinstance(text, str) else b'"lc"'
    return _walk_json(value) if marker in text else value  # type: ignore[operator]


# -- typed blobs -----------------------------------------------------------------------


def _error(tag: str | None, data: bytes, exc: BaseException) -> Inert:
    return inert(
        "langgraph.undecodable",
        {"type": tag, "size": len(data), "error": f"{type(exc).__name__}: {exc}"},
    )


def decode_typed(tag: str | None, data: Any) -> Any:
    """Decode one stored value from its type tag and bytes, never raising.

    Args:
        tag: the ``type`` column (``msgpack``, ``json``, ``bytes``, ``null``...).
        data: the blob.

    Returns:
        The value; an :class:`Inert` for pickle, encrypted, unknown or broken blobs.
    """
    raw = stored_bytes(data)  # (bytes(n) of a number would allocate n bytes)
    if tag in (None, "null", "empty") and not raw:
        return None
    try:
        if tag == "msgpack":
            return decode_msgpack(raw)
        if tag == "bytes":
            return raw
        if tag == "bytearray":
            return bytearray(raw)
        if tag == "json":
            return decode_json_text(raw)
        if tag == "pickle" or (tag is None and raw[:1] == b"\x80"):
            return inert("langgraph.pickle", {"type": "pickle", "size": len(raw)})
        if tag is not None and "+" in tag:
            return inert("langgraph.encrypted", {"type": tag, "size": len(raw)})
        if tag in ("null", "empty"):
            return None
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        return _error(tag, raw, exc)
    return inert("langgraph.unknown_type", {"type": tag, "size": len(raw)})


_SMALL_BLOB: Final = 4096  # below this, decoding it all in C beats skipping values


def decode_checkpoint(
    tag: str | None, data: bytes, *, keep: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    """Decode a stored LangGraph checkpoint dict.

    Args:
        tag: the blob's type tag.
        data: the blob.
        keep: if given, only the ``channel_values`` whose name it accepts are
            decoded; the others are skipped without being built (listing a history
            needs the bookkeeping channels, not the state).

    Returns:
        The checkpoint dict; ``{}`` with a ``"__error__"`` inert value if the blob is
        not a decodable checkpoint.
    """
    if keep is None or tag != "msgpack" or len(data) < _SMALL_BLOB:
        value = decode_typed(tag, data)
        if not isinstance(value, dict):
            return well_formed(value)
        if keep is not None and isinstance(value.get("channel_values"), dict):
            stored = value["channel_values"]
            value["channel_values"] = {k: v for k, v in stored.items() if keep(k)}
        return value
    try:
        out, spans = channel_spans(data, ext_hook=_ext_hook_list)
        for name, start, end in spans:
            if isinstance(name, str) and keep(name):
                out["channel_values"][name] = _unpack(data[start:end])
        return out
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        return {"__error__": _error(tag, data, exc)}


_MAPS: Final = ("channel_values", "channel_versions", "versions_seen")


def well_formed(checkpoint: Any) -> dict[str, Any]:
    """A decoded checkpoint in the shape the reader relies on, whatever was stored.

    A checkpoint that is not a map, or whose ``channel_values``,
    ``channel_versions`` or ``versions_seen`` is not one, keeps what is usable and
    says what was not in ``"__error__"`` (the row then reads as unreadable, and the
    rest of the database as usual).
    """
    if not isinstance(checkpoint, dict):
        error = (
            checkpoint
            if isinstance(checkpoint, Inert)
            else inert(
                "langgraph.undecodable",
                {
                    "error": f"the checkpoint is a {type(checkpoint).__name__}, not a map"
                },
            )
        )
        return {"__error__": error, "channel_values": {}}
    bad = [k for k in _MAPS if k in checkpoint and not isinstance(checkpoint[k], dict)]
    shaped: dict[str, Any] = {k: v for k, v in checkpoint.items() if k not in bad}
    if bad:
        shaped.setdefault(
            "__error__",
            inert("langgraph.undecodable", {"error": f"not a map: {', '.join(bad)}"}),
        )
    shaped.setdefault("channel_values", {})
    return shaped


def stored_bytes(value: Any) -> bytes:
    """A blob column as bytes: SQLite may hold TEXT (or anything) where bytes belong."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if value is None or isinstance(value, int | float):
        return b""
    return bytes(value)
