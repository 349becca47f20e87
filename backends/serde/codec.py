"""The :class:`Serializer`: msgpack with the ext types of
:mod:`timeloom.backends.serde`, hooks bound once per nesting level."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgpack

from timeloom.backends.inert import Inert, InertKind
from timeloom.backends.serde.classes import (
    FAILED,
    classes_named_by,
    pydantic_base,
    revive,
)
from timeloom.backends.serde.ext import (
    CLASS_KINDS,
    EXT_CODES,
    EXT_DATACLASS,
    EXT_DATE,
    EXT_DATETIME,
    EXT_DECIMAL,
    EXT_ENUM,
    EXT_FROZENSET,
    EXT_PYDANTIC,
    EXT_SET,
    EXT_TIME,
    EXT_TIMEDELTA,
    EXT_TUPLE,
    EXT_UUID,
    MAX_NESTING,
    NESTED_BUF,
    TOO_DEEP,
    TooDeep,
    Unsupported,
    array_header,
    ext,
    packb,
)
from timeloom.backends.serde.failure import describe_failure
from timeloom.backends.serde.fixed import (
    dec_datetime,
    dec_time,
    enc_date,
    enc_datetime,
    enc_decimal,
    enc_inert,
    enc_time,
    enc_timedelta,
    enc_uuid,
)
from timeloom.core.constants import SENDS
from timeloom.core.errors import SerializationError

_Encoder = Callable[[Any, int], msgpack.ExtType]


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
            dt.datetime: enc_datetime,
            dt.date: enc_date,
            dt.time: enc_time,
            dt.timedelta: enc_timedelta,
            uuid.UUID: enc_uuid,
            Decimal: enc_decimal,
            Inert: enc_inert,
        }
        # For subclasses, in an order where a subclass comes before its base.
        self._base_encoders = tuple(self._encoders.items())
        self._decoders: dict[int, Callable[[bytes, int], Any]] = {
            EXT_TUPLE: lambda data, n: tuple(self._unpack(data, n)),
            EXT_SET: lambda data, n: set(self._unpack(data, n)),
            EXT_FROZENSET: lambda data, n: frozenset(self._unpack(data, n)),
            # Leaf payloads hold only native values: no ext hook to pass down.
            EXT_DATETIME: dec_datetime,
            EXT_DATE: lambda data, _: dt.date.fromordinal(msgpack.unpackb(data)),
            EXT_TIME: dec_time,
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
        for cls in classes_named_by(types, set()):
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
            raise SerializationError(
                describe_failure(obj, root, exc, self._default)
            ) from exc

    def dumps_metadata(self, metadata: Mapping[str, Any]) -> bytes:
        """Encode a checkpoint's metadata (as :meth:`dumps`).

        Raises:
            SerializationError: it holds a value the codec cannot store; one in
                the argument of a ``Send`` due from the checkpoint is named as
                the program wrote it, not by where the metadata keeps it.
        """
        try:
            return self.dumps(dict(metadata), root="metadata")
        except SerializationError:
            for i, (node, arg) in enumerate(metadata.get(SENDS, ())):
                try:
                    self.dumps(arg, root="arg")
                except SerializationError as exc:
                    raise SerializationError(
                        f"The argument of Send({node!r}, arg) (send #{i} of the "
                        f"step) cannot be stored: {exc.msg}. A Send's argument is "
                        f"stored with the checkpoint it is due from, so that a "
                        f"resume runs it again; send storable data, or annotate "
                        f"the key with UntrackedValue",
                        title="Cannot store a Send",
                    ) from exc
            raise

    def _pack(self, obj: Any, level: int) -> bytes:
        """Pack an ext payload whose own ext values are at nesting ``level``."""
        # msgpack-types omits buf_size, which the C Packer takes.
        packer = msgpack.Packer(  # type: ignore[call-arg]
            default=self._enc_hooks[level],
            use_bin_type=True,
            strict_types=True,
            buf_size=NESTED_BUF,
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
            raise TooDeep(TOO_DEEP)
        return encode(obj, level + 1)

    def _encoder_for(self, cls: type) -> _Encoder | None:
        """The encoder of an Enum, dataclass or pydantic class, else None."""

        def header(size: int) -> bytes:
            # [module, qualname, ...]: the same bytes for every instance.
            names = packb(cls.__module__) + packb(cls.__qualname__)
            return array_header(size) + names

        if issubclass(cls, enum.Enum):  # before int: an IntEnum is an int
            head = header(4)
            return lambda obj, n: ext(
                EXT_ENUM, head + self._pack(obj.name, n) + self._pack(obj.value, n)
            )
        if dataclasses.is_dataclass(cls):
            head = header(3)
            names = tuple(f.name for f in dataclasses.fields(cls))
            return lambda obj, n: ext(
                EXT_DATACLASS,
                head + self._pack({name: getattr(obj, name) for name in names}, n),
            )
        model_base = pydantic_base()
        if model_base is not None and issubclass(cls, model_base):
            head = header(3)
            names = tuple(getattr(cls, "model_fields", ()))

            def encode_model(obj: Any, level: int) -> msgpack.ExtType:
                fields = {name: getattr(obj, name) for name in names}
                extra = getattr(obj, "__pydantic_extra__", None)
                if extra:
                    fields.update(extra)
                return ext(EXT_PYDANTIC, head + self._pack(fields, level))

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
                    raise TooDeep(TOO_DEEP)
                return encode(obj, level + 1)
        raise Unsupported(f"object of type {type(obj).__name__!r} is not supported")

    def _enc_tuple(self, obj: tuple[Any, ...], level: int) -> msgpack.ExtType:
        return ext(EXT_TUPLE, self._pack(list(obj), level))

    def _enc_items(
        self, code: int, obj: set[Any] | frozenset[Any], level: int
    ) -> msgpack.ExtType:
        items = sorted(self._pack(item, level) for item in obj)
        return ext(code, array_header(len(items)) + b"".join(items))

    def _enc_set(self, obj: set[Any], level: int) -> msgpack.ExtType:
        return self._enc_items(EXT_SET, obj, level)

    def _enc_frozenset(self, obj: frozenset[Any], level: int) -> msgpack.ExtType:
        return self._enc_items(EXT_FROZENSET, obj, level)

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
        except TooDeep as exc:
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
        decoded = self.loads(array_header(n) + b"".join(items))
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
            raise TooDeep(TOO_DEEP)
        decode = self._decoders.get(code)
        if decode is not None:
            return decode(data, level + 1)
        kind = CLASS_KINDS.get(code)
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
            revived = revive(kind, cls, fields)
            if revived is not FAILED:
                return revived
        return Inert(f"{module}.{qualname}", fields, bytes(data), kind, code)
