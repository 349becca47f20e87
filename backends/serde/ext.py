"""The codec's ext-type table and the byte-level helpers every encoder uses."""

from __future__ import annotations

from typing import Any, Final

import msgpack

from timeloom.backends.inert import InertKind

EXT_TUPLE: Final = 1
EXT_SET: Final = 2
EXT_FROZENSET: Final = 3
EXT_DATETIME: Final = 4
EXT_DATE: Final = 5
EXT_TIME: Final = 6
EXT_TIMEDELTA: Final = 7
EXT_UUID: Final = 8
EXT_DECIMAL: Final = 9
EXT_ENUM: Final = 10
EXT_DATACLASS: Final = 11
EXT_PYDANTIC: Final = 12

EXT_CODES: Final[dict[int, str]] = {
    EXT_TUPLE: "tuple",
    EXT_SET: "set",
    EXT_FROZENSET: "frozenset",
    EXT_DATETIME: "datetime",
    EXT_DATE: "date",
    EXT_TIME: "time",
    EXT_TIMEDELTA: "timedelta",
    EXT_UUID: "UUID",
    EXT_DECIMAL: "Decimal",
    EXT_ENUM: "Enum member",
    EXT_DATACLASS: "dataclass",
    EXT_PYDANTIC: "pydantic model",
}
"""The ext codes this version writes and reads, and what each holds."""

CLASS_KINDS: Final[dict[int, InertKind]] = {
    EXT_ENUM: "enum",
    EXT_DATACLASS: "dataclass",
    EXT_PYDANTIC: "pydantic",
}
# A zone name that can only be a tz database file name: no dots (no path or

NESTED_BUF: Final = 256  # nested payloads are small; the default 256 KiB buffer is slow

MAX_NESTING: Final = 64
"""How deep ext values (tuples, sets, dates, classes...) may nest in one another.
Plain lists and dicts do not count. Writing deeper fails, and so does reading."""
TOO_DEEP: Final = f"tuples, sets, dates and classes nest more than {MAX_NESTING} deep"


class Unsupported(TypeError):
    """The encoder has no rule for a value's type."""


class TooDeep(ValueError):
    """Ext values nest deeper than :data:`MAX_NESTING`."""


def ext(code: int, data: bytes) -> msgpack.ExtType:
    """An ext value, built without ``ExtType``'s argument checks."""
    # ExtType() checks its arguments in Python, a third of the cost of a small
    # value; ours are valid by construction.
    return tuple.__new__(msgpack.ExtType, (code, data))


def packb(obj: Any) -> bytes:
    """Pack a payload of native values (no hook) into a small buffer."""
    # msgpack.packb allocates a 256 KiB buffer per call; nested inside the outer
    # packer's, that costs more than 10 us per value in allocator churn.
    return msgpack.Packer(buf_size=NESTED_BUF).pack(obj)  # type: ignore[call-arg]


def array_header(n: int) -> bytes:
    """The msgpack header of an array of ``n`` items."""
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")
