"""The inert values the LangGraph decoder builds, in Timeloom's codec format.

Stored objects become :class:`~timeloom.backends.inert.Inert` values whose payload is
what Timeloom's :class:`~timeloom.backends.serde.Serializer` writes for a dataclass
or pydantic model, so a checkpoint read from LangGraph can be exported to a Timeloom
database and read back unchanged. LangChain messages are shaped role first;
secrets are masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from timeloom.backends.inert import Inert, InertKind
from timeloom.backends.serde import EXT_DATACLASS, EXT_PYDANTIC, Serializer
from timeloom.core.errors import SerializationError

MASK: Final = "**********"
"""What a stored secret is shown as."""


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


def masked(type_name: str) -> Inert:
    """A stored secret (pydantic ``SecretStr``, a LangChain ``secret``), its value
    replaced by :data:`MASK`: the plaintext never leaves the decoder."""
    return inert(type_name, {"value": MASK}, model=True)


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


def message(type_name: str, fields: Mapping[str, Any]) -> Inert:
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


def is_message_type(module: str, name: str) -> bool:
    return module.startswith("langchain_core.messages") or (
        module.startswith("langchain.schema") and name.endswith("Message")
    )
