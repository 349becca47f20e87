"""The msgpack codec every backend stores values with. It never executes what it reads.

Native msgpack types (None, bool, int, float, str, bytes, list, dict with keys of
any supported hashable type) are stored as themselves, at C speed. Everything else
the codec supports is an ext type from this fixed table; the payload of most is
itself msgpack:

====  ==============  =========================================================
code  type            payload
====  ==============  =========================================================
1     tuple           array of the items
2     set             array of the items, sorted by their encoded bytes
3     frozenset       as set
4     datetime        [year, month, day, hour, minute, second, microsecond,
                      fold, tz]
5     date            the proleptic ordinal (``date.toordinal()``)
6     time            [hour, minute, second, microsecond, fold, tz]
7     timedelta       [days, seconds, microseconds]
8     UUID            the 16 bytes (not msgpack)
9     Decimal         ``str(value)`` in ASCII (not msgpack; NaN, sNaN,
                      Infinity and signed zeros survive)
10    Enum member     [module, qualname, name, value]
11    dataclass       [module, qualname, {field: value}] (every field, also
                      ``init=False`` ones)
12    pydantic model  [module, qualname, {field: value}] (declared fields, then
                      extra ones)
====  ==============  =========================================================

``tz`` is nil for a naive value, an int for a fixed UTC offset in microseconds,
or ``[zone name, offset in microseconds or nil]`` for a ``zoneinfo.ZoneInfo``.
A zone name is looked up in the system time-zone database when read (it is only
ever a file name there, never a module); where it is unknown, the stored offset
is used, and writing the value back then stores that offset. Any other tzinfo is
stored as its offset (a ``timezone``'s name is not kept).

Ext values nest at most :data:`MAX_NESTING` deep (lists and dicts do not count):
each level costs the C decoder tens of KiB of stack, so deeper crafted data
would crash the process. Writing deeper fails, reading deeper raises.

Sets are sorted by encoding, so equal values always encode to equal bytes (hash
randomisation would otherwise reorder them between processes).

Subclasses of the native types and of the types above are stored as their base
type (an ``OrderedDict`` reads back as a ``dict``, a ``NamedTuple`` as a tuple).

Classes (codes 10-12) are stored by name and never looked up by name: reading
revives only classes registered with :meth:`Serializer.register`. Any other class,
and an ext code not in this table, reads back as an :class:`Inert` value that
shows its type name and fields and writes back the same bytes. No pickle, ever.
(Ext -1, msgpack's own timestamp, which other tools may write, reads back as a
``msgpack.Timestamp``.)
"""

from __future__ import annotations

from timeloom.backends.inert import Inert
from timeloom.backends.serde.codec import Serializer
from timeloom.backends.serde.ext import (
    EXT_CODES,
    EXT_DATACLASS,
    EXT_PYDANTIC,
    MAX_NESTING,
)

__all__ = [
    "EXT_CODES",
    "EXT_DATACLASS",
    "EXT_PYDANTIC",
    "MAX_NESTING",
    "Inert",
    "Serializer",
]
