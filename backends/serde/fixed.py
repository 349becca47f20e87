"""Encoders and decoders of the small fixed types: dates, times, timedeltas,
UUIDs, Decimals, and inert values written back as they were read."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgpack

from timeloom.backends.inert import Inert
from timeloom.backends.serde.ext import (
    EXT_DATE,
    EXT_DATETIME,
    EXT_DECIMAL,
    EXT_TIME,
    EXT_TIMEDELTA,
    EXT_UUID,
    ext,
    packb,
)

# A zone name that can only be a tz database file name: no dots (no path or
# package traversal), no leading slash. Anything else falls back to the offset.
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")

_MICROSECOND = dt.timedelta(microseconds=1)


def _enc_tz(tzinfo: dt.tzinfo | None, offset: dt.timedelta | None) -> Any:
    if tzinfo is None:
        return None
    micros = None if offset is None else offset // _MICROSECOND
    if type(tzinfo) is ZoneInfo and tzinfo.key is not None:
        return [tzinfo.key, micros]
    if micros is None:
        raise TypeError(f"tzinfo {tzinfo!r} has no fixed UTC offset")
    return micros


@functools.lru_cache(maxsize=256)
def _fixed_zone(micros: int) -> dt.timezone:
    # Timestamps of one run share a zone or two; building it costs more than the
    # rest of decoding a datetime.
    return dt.timezone(micros * _MICROSECOND)


def _dec_tz(stored: Any) -> dt.tzinfo | None:
    if stored is None:
        return None
    if isinstance(stored, int):
        return _fixed_zone(stored)
    key, micros = stored
    if isinstance(key, str) and _ZONE_KEY.fullmatch(key):
        try:
            return ZoneInfo(key)
        except Exception:  # not in this machine's tz database
            pass
    if micros is None:
        return None
    return dt.timezone(micros * _MICROSECOND)


def enc_datetime(obj: dt.datetime, _level: int) -> msgpack.ExtType:
    """Ext 4: ``[year, ..., microsecond, fold, tz]``."""
    tz = _enc_tz(obj.tzinfo, obj.utcoffset())
    payload = [
        obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second,
        obj.microsecond, obj.fold, tz,
    ]  # fmt: skip
    return ext(EXT_DATETIME, packb(payload))


def dec_datetime(data: bytes, _level: int) -> dt.datetime:
    """Read ext 4."""
    year, month, day, hour, minute, second, micro, fold, tz = msgpack.unpackb(data)
    return dt.datetime(
        year, month, day, hour, minute, second, micro, tzinfo=_dec_tz(tz), fold=fold
    )


def enc_date(obj: dt.date, _level: int) -> msgpack.ExtType:
    """Ext 5: the proleptic ordinal."""
    return ext(EXT_DATE, packb(obj.toordinal()))


def enc_time(obj: dt.time, _level: int) -> msgpack.ExtType:
    """Ext 6: ``[hour, minute, second, microsecond, fold, tz]``."""
    tz = _enc_tz(obj.tzinfo, obj.utcoffset())
    payload = [obj.hour, obj.minute, obj.second, obj.microsecond, obj.fold, tz]
    return ext(EXT_TIME, packb(payload))


def dec_time(data: bytes, _level: int) -> dt.time:
    """Read ext 6."""
    hour, minute, second, micro, fold, tz = msgpack.unpackb(data)
    return dt.time(hour, minute, second, micro, tzinfo=_dec_tz(tz), fold=fold)


def enc_timedelta(obj: dt.timedelta, _level: int) -> msgpack.ExtType:
    """Ext 7: ``[days, seconds, microseconds]``."""
    payload = [obj.days, obj.seconds, obj.microseconds]
    return ext(EXT_TIMEDELTA, packb(payload))


def enc_uuid(obj: uuid.UUID, _level: int) -> msgpack.ExtType:
    """Ext 8: the 16 bytes."""
    return ext(EXT_UUID, obj.bytes)


def enc_decimal(obj: Decimal, _level: int) -> msgpack.ExtType:
    """Ext 9: ``str(value)`` in ASCII."""
    return ext(EXT_DECIMAL, str(obj).encode("ascii"))


def enc_inert(obj: Inert, _level: int) -> msgpack.ExtType:
    """An inert value: the very code and bytes that were read."""
    return ext(obj.code, obj.raw)
