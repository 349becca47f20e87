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

import json
import threading
from collections.abc import Callable
from decimal import InvalidOperation
from typing import Any, Final

import msgpack

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.allowlist import (
    ISO_PARSERS,
    KW_ARGS,
    POS_ARGS,
    SECRETS,
    SINGLE_ARG,
)
from timeloom.backends.langgraph.inert_values import (
    MASK,
    inert,
    is_message,
    is_message_type,
    masked,
    message,
)
from timeloom.backends.langgraph.spans import channel_spans

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

_PREVIEW_BYTES = 32


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
        if name in SECRETS and module.startswith("pydantic"):
            return masked(f"{module}.{name}")
        builder = SINGLE_ARG.get(key)
    elif code == 1:
        builder = POS_ARGS.get(key)
    elif code == 2:
        builder = KW_ARGS.get(key)
    elif code == 3:
        method = payload[3] if len(payload) > 3 else None
        parser = ISO_PARSERS.get(key) if method == "fromisoformat" else None
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
        if is_message_type(module, name):
            return message(type_name, fields)
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
        return masked(type_name)
    if kind == "not_implemented":
        return inert(type_name, {"repr": obj.get("repr")})
    fields: dict[str, Any] = dict(obj.get("kwargs") or {})
    if obj.get("args"):
        fields["args"] = obj["args"]
    if obj.get("lc") == 1 and name.endswith("Message"):
        fields.setdefault("type", name.removesuffix("Message").lower())
        return message(type_name, fields)
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
