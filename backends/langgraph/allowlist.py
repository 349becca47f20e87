"""The allowlist of standard-library values the LangGraph decoder rebuilds itself.

LangGraph stores an object as ``(module, name, argument)`` and revives it by
importing ``module`` and calling ``name``. Here ``(module, name)`` only selects a row
of a fixed table, and the row's builder (our code) makes the value from the
decoded argument. A payload of the wrong shape raises, and the caller shows the
value as inert.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import pathlib
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from timeloom.backends.langgraph.inert_values import inert


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

ISO_PARSERS: Final[dict[tuple[str, str], Callable[[str], Any]]] = {
    ("datetime", "datetime"): dt.datetime.fromisoformat,
    ("datetime", "date"): dt.date.fromisoformat,
    ("datetime", "time"): dt.time.fromisoformat,
}
"""Ext 3 ``(module, name, arg, "fromisoformat")``: parsed by the standard library."""

SECRETS: Final = frozenset({"SecretStr", "SecretBytes"})
"""pydantic's secret types: shown masked, never decoded."""
