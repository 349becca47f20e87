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

import dataclasses
import datetime as dt
import enum
import functools
import json
import re
import sys
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgpack

from timeloom.backends.inert import Inert, InertKind
from timeloom.core.errors import SerializationError

__all__ = ["EXT_CODES", "MAX_NESTING", "Inert", "Serializer"]

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

_CLASS_KINDS: Final[dict[int, InertKind]] = {
    EXT_ENUM: "enum",
    EXT_DATACLASS: "dataclass",
    EXT_PYDANTIC: "pydantic",
}
# A zone name that can only be a tz database file name: no dots (no path or
# package traversal), no leading slash. Anything else falls back to the offset.
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_NESTED_BUF = 256  # nested payloads are small; the default 256 KiB buffer is slow


MAX_NESTING: Final = 64
"""How deep ext values (tuples, sets, dates, classes...) may nest in one another.
Plain lists and dicts do not count. Writing deeper fails, and so does reading."""
_TOO_DEEP = f"tuples, sets, dates and classes nest more than {MAX_NESTING} deep"
_MAX_DEPTH = 400  # deeper than this is reported as the problem, before Python's limit
_Encoder = Callable[[Any, int], msgpack.ExtType]
_SUPPORTED = (
    "None, bool, int, float, str, bytes, list, dict, tuple, set, frozenset, "
    "datetime, date, time, timedelta, UUID, Decimal, Enum members, dataclasses, "
    "pydantic models"
)


class _Unsupported(TypeError):
    """The encoder has no rule for a value's type."""


class _TooDeep(ValueError):
    """Ext values nest deeper than :data:`MAX_NESTING`."""


def _key(key: Any) -> str:
    text = json.dumps(key, ensure_ascii=False) if type(key) is str else repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _ext(code: int, data: bytes) -> msgpack.ExtType:
    # ExtType() checks its arguments in Python, a third of the cost of a small
    # value; ours are valid by construction.
    return tuple.__new__(msgpack.ExtType, (code, data))


def _packb(obj: Any) -> bytes:
    """Pack a payload of native values (no hook) into a small buffer."""
    # msgpack.packb allocates a 256 KiB buffer per call; nested inside the outer
    # packer's, that costs more than 10 us per value in allocator churn.
    return msgpack.Packer(buf_size=_NESTED_BUF).pack(obj)  # type: ignore[call-arg]


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _pydantic_base() -> type | None:
    # Never import pydantic: if it was not imported, no object is a pydantic model.
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None)
    return base if isinstance(base, type) else None


class Serializer:
    """Encode values to msgpack bytes and back; no pickle, no imports on read.

    Args:
        register: application classes (Enum, dataclass, pydantic model) that
            reading may revive; see :meth:`register`.
    """

    tag = "msgpack"
    """Stored beside every blob, so a future codec can be told apart."""

    def __init__(self, register: Iterable[Any] = ()) -> None:
        self._classes: dict[tuple[str, str], type] = {}
        # One hook per nesting level, bound once: they run for every non-native
        # value on the hot path, and the level caps nesting without a counter.
        levels = range(MAX_NESTING + 1)
        self._enc_hooks = [functools.partial(self._default, n) for n in levels]
        self._dec_hooks = [functools.partial(self._ext_hook, n) for n in levels]
        self._encoders: dict[type, _Encoder] = {
            tuple: self._enc_tuple,
            set: self._enc_set,
            frozenset: self._enc_frozenset,
            dt.datetime: _enc_datetime,
            dt.date: _enc_date,
            dt.time: _enc_time,
            dt.timedelta: _enc_timedelta,
            uuid.UUID: _enc_uuid,
            Decimal: _enc_decimal,
            Inert: _enc_inert,
        }
        # For subclasses, in an order where a subclass comes before its base.
        self._base_encoders = tuple(self._encoders.items())
        self._decoders: dict[int, Callable[[bytes, int], Any]] = {
            EXT_TUPLE: lambda data, n: tuple(self._unpack(data, n)),
            EXT_SET: lambda data, n: set(self._unpack(data, n)),
            EXT_FROZENSET: lambda data, n: frozenset(self._unpack(data, n)),
            # Leaf payloads hold only native values: no ext hook to pass down.
            EXT_DATETIME: _dec_datetime,
            EXT_DATE: lambda data, _: dt.date.fromordinal(msgpack.unpackb(data)),
            EXT_TIME: _dec_time,
            EXT_TIMEDELTA: lambda data, _: dt.timedelta(*msgpack.unpackb(data)),
            EXT_UUID: lambda data, _: uuid.UUID(bytes=bytes(data)),
            EXT_DECIMAL: lambda data, _: Decimal(bytes(data).decode("ascii")),
        }
        self.register(*register)

    # -- registration ----------------------------------------------------------------

    def register(self, *types: Any) -> None:
        """Let reading revive these classes instead of returning :class:`Inert`.

        Registration is the only way a class is ever constructed from stored data.
        Enum, dataclass and pydantic model classes are registered. Type
        expressions are searched for them (``list[Message]``,
        ``Annotated[list[Message], operator.add]``, ``Message | None``), and so are
        the field annotations of dataclasses, pydantic models and TypedDicts: pass a
        graph's state schema and every class it names is registered. Anything else
        is ignored.

        Args:
            types: classes, type expressions, or iterables of them.
        """
        for cls in _classes_named_by(types, set()):
            self._classes[(cls.__module__, cls.__qualname__)] = cls

    # -- encoding --------------------------------------------------------------------

    def dumps(self, obj: Any, *, root: str = "value") -> bytes:
        """Encode ``obj``.

        Args:
            obj: the value.
            root: what to call ``obj`` in an error message, e.g. ``"values"``.

        Returns:
            The msgpack bytes.

        Raises:
            SerializationError: ``obj`` holds a value the codec cannot store; the
                message names its path (``values["messages"][3].payload``) and type.
        """
        try:
            return msgpack.Packer(
                default=self._enc_hooks[0], use_bin_type=True, strict_types=True
            ).pack(obj)
        except Exception as exc:
            # The hot path pays nothing for the path: walk the value only now.
            raise SerializationError(self._describe_failure(obj, root, exc)) from exc

    def _pack(self, obj: Any, level: int) -> bytes:
        """Pack an ext payload whose own ext values are at nesting ``level``."""
        # msgpack-types omits buf_size, which the C Packer takes.
        packer = msgpack.Packer(  # type: ignore[call-arg]
            default=self._enc_hooks[level],
            use_bin_type=True,
            strict_types=True,
            buf_size=_NESTED_BUF,
        )
        return packer.pack(obj)

    def _default(self, level: int, obj: Any) -> Any:
        encode = self._encoders.get(type(obj))
        if encode is None:
            encode = self._encoder_for(type(obj))
            if encode is None:
                return self._default_subclass(level, obj)
            # Remember the class: its next instance skips the isinstance chain.
            self._encoders[type(obj)] = encode
        if level >= MAX_NESTING:
            raise _TooDeep(_TOO_DEEP)
        return encode(obj, level + 1)

    def _encoder_for(self, cls: type) -> _Encoder | None:
        """The encoder of an Enum, dataclass or pydantic class, else None."""

        def header(size: int) -> bytes:
            # [module, qualname, ...]: the same bytes for every instance.
            names = _packb(cls.__module__) + _packb(cls.__qualname__)
            return _array_header(size) + names

        if issubclass(cls, enum.Enum):  # before int: an IntEnum is an int
            head = header(4)
            return lambda obj, n: _ext(
                EXT_ENUM, head + self._pack(obj.name, n) + self._pack(obj.value, n)
            )
        if dataclasses.is_dataclass(cls):
            head = header(3)
            names = tuple(f.name for f in dataclasses.fields(cls))
            return lambda obj, n: _ext(
                EXT_DATACLASS,
                head + self._pack({name: getattr(obj, name) for name in names}, n),
            )
        pydantic_base = _pydantic_base()
        if pydantic_base is not None and issubclass(cls, pydantic_base):
            head = header(3)
            names = tuple(getattr(cls, "model_fields", ()))

            def encode_model(obj: Any, level: int) -> msgpack.ExtType:
                fields = {name: getattr(obj, name) for name in names}
                extra = getattr(obj, "__pydantic_extra__", None)
                if extra:
                    fields.update(extra)
                return _ext(EXT_PYDANTIC, head + self._pack(fields, level))

            return encode_model
        return None

    def _default_subclass(self, level: int, obj: Any) -> Any:
        # Subclasses of supported types are stored as their base type. The
        # base-class methods copy to the exact type without calling overrides.
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, int):
            return int.__int__(obj)
        if isinstance(obj, float):
            return float.__float__(obj)
        if isinstance(obj, bytes):
            return bytes.__bytes__(obj)
        if isinstance(obj, dict):
            return dict(obj)
        if isinstance(obj, list):
            return list(obj)
        for base, encode in self._base_encoders:
            if isinstance(obj, base):
                if level >= MAX_NESTING:
                    raise _TooDeep(_TOO_DEEP)
                return encode(obj, level + 1)
        raise _Unsupported(f"object of type {type(obj).__name__!r} is not supported")

    def _enc_tuple(self, obj: tuple[Any, ...], level: int) -> msgpack.ExtType:
        return _ext(EXT_TUPLE, self._pack(list(obj), level))

    def _enc_items(
        self, code: int, obj: set[Any] | frozenset[Any], level: int
    ) -> msgpack.ExtType:
        items = sorted(self._pack(item, level) for item in obj)
        return _ext(code, _array_header(len(items)) + b"".join(items))

    def _enc_set(self, obj: set[Any], level: int) -> msgpack.ExtType:
        return self._enc_items(EXT_SET, obj, level)

    def _enc_frozenset(self, obj: frozenset[Any], level: int) -> msgpack.ExtType:
        return self._enc_items(EXT_FROZENSET, obj, level)

    # -- naming the value that cannot be stored (only after a failure) ---------------

    def _describe_failure(self, obj: Any, root: str, exc: Exception) -> str:
        try:
            found = self._find(obj, root, set(), 0, 0)
        except RecursionError:
            found = (root, "it is nested too deeply")
        if found is None:
            return f"cannot store {root}: {type(exc).__name__}: {exc}"
        path, reason = found
        return f"cannot store {path}: {reason}"

    def _find(
        self, obj: Any, path: str, active: set[int], depth: int, level: int
    ) -> tuple[str, str] | None:
        """The path of the first value in ``obj`` that cannot be stored, and why.

        ``depth`` counts every container, ``level`` the ext values around ``obj``.
        """
        kind = type(obj)
        if obj is None or kind is bool or kind is float:
            return None
        if kind is int:
            if -(1 << 63) <= obj < 1 << 64:
                return None
            return path, f"int {obj} does not fit in 64 bits"
        if kind is str:
            try:
                obj.encode("utf-8")
            except UnicodeEncodeError:
                return path, "the string is not valid UTF-8 (a lone surrogate)"
            return None
        if kind in (bytes, bytearray, memoryview):
            return None
        if depth > _MAX_DEPTH:
            return path, f"it is nested more than {_MAX_DEPTH} levels deep"
        if id(obj) in active:
            return path, f"the {kind.__name__} contains itself (a reference cycle)"
        try:
            children = self._children(obj, path)
        except Exception as exc:  # reading a field raised
            return path, f"reading it raised {type(exc).__name__}: {exc}"
        if children is None:  # a leaf: datetime, UUID, unsupported...
            try:
                converted = self._default(level, obj)
            except _Unsupported as exc:
                return path, f"{exc} (supported: {_SUPPORTED})"
            except _TooDeep:
                return path, _TOO_DEEP
            except Exception as exc:  # reported, not raised
                return path, f"{kind.__name__} value: {type(exc).__name__}: {exc}"
            if isinstance(converted, msgpack.ExtType):
                return None
            children, inner = [(path, converted)], level  # a subclass, as its base
        elif isinstance(obj, dict | list) and not isinstance(obj, enum.Enum):
            inner = level  # stored natively: no ext level
        elif level >= MAX_NESTING:
            return path, _TOO_DEEP
        else:
            inner = level + 1
        active.add(id(obj))
        for child_path, child in children:
            found = self._find(child, child_path, active, depth + 1, inner)
            if found is not None:
                return found
        active.discard(id(obj))
        return None

    def _children(self, obj: Any, path: str) -> list[tuple[str, Any]] | None:
        if isinstance(obj, dict):
            pairs = []
            for key, value in obj.items():
                pairs.append((f"{path} (the key {_key(key)})", key))
                pairs.append((f"{path}[{_key(key)}]", value))
            return pairs
        if isinstance(obj, list | tuple) and not isinstance(obj, enum.Enum):
            return [(f"{path}[{i}]", item) for i, item in enumerate(obj)]
        if isinstance(obj, set | frozenset):
            return [(f"{path}{{...}}", item) for item in obj]
        if isinstance(obj, enum.Enum):
            return [(f"{path}.value", obj.value)]
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return [
                (f"{path}.{f.name}", getattr(obj, f.name))
                for f in dataclasses.fields(obj)
            ]
        pydantic_base = _pydantic_base()
        if pydantic_base is not None and isinstance(obj, pydantic_base):
            names = list(getattr(type(obj), "model_fields", ()))
            extra = getattr(obj, "__pydantic_extra__", None) or {}
            return [(f"{path}.{name}", getattr(obj, name)) for name in names] + [
                (f"{path}.{name}", value) for name, value in extra.items()
            ]
        return None

    # -- decoding --------------------------------------------------------------------

    def loads(self, data: bytes) -> Any:
        """Decode bytes written by :meth:`dumps`.

        Never imports a module or calls anything named in the data: classes that
        were not registered, and unknown ext codes, decode to :class:`Inert`.

        Args:
            data: the stored bytes.

        Returns:
            The value.

        Raises:
            SerializationError: the bytes are truncated, corrupt or not ours.
        """
        try:
            return self._unpack(data, 0)
        except _TooDeep as exc:
            raise SerializationError(
                f"cannot decode a stored value ({len(data)} bytes): {exc}",
                title="Corrupt stored value",
            ) from exc
        except Exception as exc:  # msgpack, unicode, and malformed payload errors
            raise SerializationError(
                f"cannot decode a stored value ({len(data)} bytes): it is truncated "
                f"or corrupt ({type(exc).__name__}: {exc})",
                title="Corrupt stored value",
            ) from exc

    def loads_many(self, items: list[bytes]) -> list[Any]:
        """Decode values written one by one by :meth:`dumps`, all at once.

        Each is a complete msgpack value, so behind an array header they form one
        msgpack array: one call into the C decoder instead of one per item.

        Raises:
            SerializationError: as :meth:`loads`.
        """
        n = len(items)
        if n < 16:
            head = bytes((0x90 | n,))
        elif n < 1 << 16:
            head = b"\xdc" + n.to_bytes(2, "big")
        else:
            head = b"\xdd" + n.to_bytes(4, "big")
        decoded = self.loads(head + b"".join(items))
        if not isinstance(decoded, list) or len(decoded) != n:  # trailing garbage
            raise SerializationError(
                f"cannot decode {n} stored values: they are truncated or corrupt",
                title="Corrupt stored value",
            )
        return decoded

    def _unpack(self, data: bytes, level: int) -> Any:
        """Unpack bytes whose ext values are at nesting ``level``."""
        return msgpack.unpackb(
            data, ext_hook=self._dec_hooks[level], raw=False, strict_map_key=False
        )

    def _ext_hook(self, level: int, code: int, data: bytes) -> Any:
        if level >= MAX_NESTING:
            # Each level costs the C decoder ~45 KiB of stack: crafted deep data
            # would crash the process instead of raising.
            raise _TooDeep(_TOO_DEEP)
        decode = self._decoders.get(code)
        if decode is not None:
            return decode(data, level + 1)
        kind = _CLASS_KINDS.get(code)
        if kind is not None:
            return self._dec_class(code, kind, data, level + 1)
        return Inert(f"ext {code}", None, bytes(data), "ext", code)

    def _dec_class(self, code: int, kind: InertKind, data: bytes, level: int) -> Any:
        stored = self._unpack(data, level)
        size = 4 if kind == "enum" else 3
        if (
            not isinstance(stored, list)
            or len(stored) != size
            or not isinstance(stored[0], str)
            or not isinstance(stored[1], str)
        ):
            raise ValueError(f"malformed {EXT_CODES[code]} payload")
        module, qualname = stored[0], stored[1]
        if kind == "enum":
            fields: dict[str, Any] = {"name": stored[2], "value": stored[3]}
        elif isinstance(stored[2], dict) and all(isinstance(k, str) for k in stored[2]):
            fields = stored[2]
        else:
            raise ValueError(f"malformed {EXT_CODES[code]} payload")
        cls = self._classes.get((module, qualname))
        if cls is not None:
            revived = _revive(kind, cls, fields)
            if revived is not _FAILED:
                return revived
        return Inert(f"{module}.{qualname}", fields, bytes(data), kind, code)


# -- finding the classes a schema names -----------------------------------------------


def _classes_named_by(tp: Any, seen: set[int]) -> Iterator[type]:
    """The Enum, dataclass and pydantic classes in ``tp``, searched recursively."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if isinstance(tp, list | tuple | set | frozenset):
        for item in tp:
            yield from _classes_named_by(item, seen)
        return
    for arg in typing.get_args(tp):  # list[X], X | None, Annotated[X, ...], ...
        yield from _classes_named_by(arg, seen)
    if not isinstance(tp, type) or typing.get_origin(tp) is not None:
        return
    pydantic_base = _pydantic_base()
    is_model = pydantic_base is not None and issubclass(tp, pydantic_base)
    if issubclass(tp, enum.Enum) or dataclasses.is_dataclass(tp) or is_model:
        yield tp
    if is_model or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        yield from _classes_named_by(list(_annotations(tp)), seen)


def _annotations(cls: type) -> Iterable[Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True).values()
    except Exception:  # an unresolvable forward reference: use what resolves
        return [
            hint
            for klass in cls.__mro__
            for hint in vars(klass).get("__annotations__", {}).values()
            if not isinstance(hint, str)
        ]


# -- reviving registered classes ------------------------------------------------------

_FAILED: Final = object()


def _revive(kind: InertKind, cls: type, fields: dict[str, Any]) -> Any:
    # A registered class that changed since the value was written (renamed
    # members, new required fields, stricter validation) raises here; the value
    # then stays inert rather than making the whole checkpoint unreadable.
    try:
        if kind == "enum":
            if issubclass(cls, enum.Enum):
                return cls(fields["value"])
        elif kind == "dataclass":
            if dataclasses.is_dataclass(cls):
                return _revive_dataclass(cls, fields)
        else:
            if hasattr(cls, "model_validate"):
                return _revive_pydantic(cls, fields)
    except Exception:  # any failure of application code means inert
        return _FAILED
    return _FAILED


def _revive_dataclass(cls: type, fields: dict[str, Any]) -> Any:
    names, init, late = _dataclass_layout(cls)
    if names != fields.keys():
        return _FAILED
    obj = cls(**{name: fields[name] for name in init})
    for name in late:  # init=False fields: restore what was stored, even if frozen
        object.__setattr__(obj, name, fields[name])
    return obj


@functools.lru_cache(maxsize=1024)
def _dataclass_layout(
    cls: type,
) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """All field names, those ``__init__`` takes, and the others."""
    declared = dataclasses.fields(cls)
    return (
        frozenset(f.name for f in declared),
        tuple(f.name for f in declared if f.init),
        tuple(f.name for f in declared if not f.init),
    )


def _revive_pydantic(cls: Any, fields: dict[str, Any]) -> Any:
    root = getattr(cls, "__pydantic_root_model__", False)
    try:
        return _validate(cls, fields["root"] if root else fields)
    except Exception:
        # A nested model or Enum whose class was not registered is inert, which
        # its field's annotation rejects: hand pydantic the plain fields instead,
        # so registering the outer model is enough.
        plain = {key: _plain(value) for key, value in fields.items()}
        return _validate(cls, plain["root"] if root else plain)


def _validate(cls: Any, data: Any) -> Any:
    # Fields are stored by name; a field with an alias only accepts its name
    # with by_name=True (pydantic >= 2.11; older versions lack the argument).
    try:
        return cls.model_validate(data, by_name=True)
    except TypeError as exc:
        if "by_name" not in str(exc):
            raise
        return cls.model_validate(data)


def _plain(value: Any) -> Any:
    """Inert values as their plain fields, so pydantic can rebuild nested models."""
    if isinstance(value, Inert):
        if value.kind == "enum" and value.fields is not None:
            return value.fields["value"]
        if value.fields is not None:
            return {key: _plain(item) for key, item in value.fields.items()}
        return value
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    if type(value) is tuple:
        return tuple(_plain(item) for item in value)
    return value


# -- dates, times and the small fixed types -------------------------------------------

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


def _enc_datetime(obj: dt.datetime, _level: int) -> msgpack.ExtType:
    tz = _enc_tz(obj.tzinfo, obj.utcoffset())
    payload = [
        obj.year, obj.month, obj.day, obj.hour, obj.minute, obj.second,
        obj.microsecond, obj.fold, tz,
    ]  # fmt: skip
    return _ext(EXT_DATETIME, _packb(payload))


def _dec_datetime(data: bytes, _level: int) -> dt.datetime:
    year, month, day, hour, minute, second, micro, fold, tz = msgpack.unpackb(data)
    return dt.datetime(
        year, month, day, hour, minute, second, micro, tzinfo=_dec_tz(tz), fold=fold
    )


def _enc_date(obj: dt.date, _level: int) -> msgpack.ExtType:
    return _ext(EXT_DATE, _packb(obj.toordinal()))


def _enc_time(obj: dt.time, _level: int) -> msgpack.ExtType:
    tz = _enc_tz(obj.tzinfo, obj.utcoffset())
    payload = [obj.hour, obj.minute, obj.second, obj.microsecond, obj.fold, tz]
    return _ext(EXT_TIME, _packb(payload))


def _dec_time(data: bytes, _level: int) -> dt.time:
    hour, minute, second, micro, fold, tz = msgpack.unpackb(data)
    return dt.time(hour, minute, second, micro, tzinfo=_dec_tz(tz), fold=fold)


def _enc_timedelta(obj: dt.timedelta, _level: int) -> msgpack.ExtType:
    payload = [obj.days, obj.seconds, obj.microseconds]
    return _ext(EXT_TIMEDELTA, _packb(payload))


def _enc_uuid(obj: uuid.UUID, _level: int) -> msgpack.ExtType:
    return _ext(EXT_UUID, obj.bytes)


def _enc_decimal(obj: Decimal, _level: int) -> msgpack.ExtType:
    return _ext(EXT_DECIMAL, str(obj).encode("ascii"))


def _enc_inert(obj: Inert, _level: int) -> msgpack.ExtType:
    return _ext(obj.code, obj.raw)
