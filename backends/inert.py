"""The inert value: what the codec returns for a stored object it may not revive.

Reading a checkpoint never imports or calls anything named in the data. An Enum
member, dataclass or pydantic model whose class was not registered with the
:class:`~timeloom.backends.serde.Serializer`, and an ext type this version does not
know (written by a newer Timeloom or another tool), decode to an :class:`Inert`
instead. It shows what the value was, and writing it back stores the very same
bytes, so a checkpoint can be read, forked and re-written by a process that does
not have the application's classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

InertKind = Literal["enum", "dataclass", "pydantic", "ext"]

_REPR_HEX_BYTES = 16  # an unknown payload's repr shows this many bytes, then "..."


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Inert:
    """A stored value whose class this process did not revive. Made by the codec.

    Fields are attributes and items too: for a stored ``Point(x=1, y=2)``,
    ``value.x == value["x"] == value.fields["x"] == 1``; for an Enum member
    ``value.name`` and ``value.value`` work as on the member. (An attribute of this
    class itself, such as ``raw``, wins over a field of the same name; use the item
    form for those.)

    Treat it as read-only: the codec re-encodes :attr:`raw`, not :attr:`fields`, so
    writing it back stores exactly the bytes that were read. Two inert values are
    equal when their stored bytes are equal.
    """

    type_name: str
    """``module.qualname`` of the stored class, or ``"ext <code>"`` for an unknown ext."""
    fields: Mapping[str, Any] | None
    """The stored fields, decoded (nested unknown classes are inert too):
    ``{"name", "value"}`` for an Enum member, the fields of a dataclass or pydantic
    model; ``None`` for an unknown ext type."""
    raw: bytes
    """The ext payload exactly as stored; for an unknown ext type, all there is."""
    kind: InertKind
    """What was stored: ``"enum"``, ``"dataclass"``, ``"pydantic"``, or ``"ext"``."""
    code: int
    """The msgpack ext code the value was stored under."""

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. Dunder names (copy, pickle and
        # friends probe for them) never come from the stored fields.
        if not name.startswith("__"):
            try:
                fields = object.__getattribute__(self, "fields")
            except AttributeError:  # not initialised yet (unpickling)
                fields = None
            if fields is not None and name in fields:
                return fields[name]
        raise AttributeError(
            f"{type(self).__name__} of {self._safe_type_name()} has no field {name!r}"
        )

    def __getitem__(self, name: str) -> Any:
        if self.fields is None:
            raise KeyError(name)
        return self.fields[name]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Inert):
            return NotImplemented
        return self.code == other.code and self.raw == other.raw

    def __hash__(self) -> int:
        return hash((self.code, self.raw))

    def __repr__(self) -> str:
        fields = self.fields
        if self.kind == "ext" or fields is None:
            head = self.raw[:_REPR_HEX_BYTES].hex()
            more = "..." if len(self.raw) > _REPR_HEX_BYTES else ""
            return f"<inert {self.type_name}: {len(self.raw)} bytes {head}{more}>"
        if self.kind == "enum":
            return f"<inert {self.type_name}.{fields.get('name')}: {fields.get('value')!r}>"
        inner = ", ".join(f"{key}={value!r}" for key, value in fields.items())
        return f"<inert {self.type_name}({inner})>"

    def _safe_type_name(self) -> str:
        try:
            return str(object.__getattribute__(self, "type_name"))
        except AttributeError:
            return "an unknown type"
