"""The state schema: which keys a graph's state has and how updates combine.

A schema is a ``TypedDict`` or a dataclass. A field annotated
``Annotated[T, reducer]`` combines updates with ``reducer(old, new)`` (e.g.
``operator.add`` appends to a list); any other field is overwritten, and only one node
may write it per step.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from timeloom.core.errors import GraphValidationError, InvalidUpdateError
from timeloom.core.messages import add_messages, message_classes

Reducer = Callable[[Any, Any], Any]

_MISSING: Any = object()
# Types whose no-argument call gives the neutral start value of a reducer channel.
_DEFAULT_FACTORIES: tuple[type, ...] = (list, dict, set, tuple, int, float, str)


@dataclass(frozen=True, slots=True)
class Channel:
    """One key of the state."""

    name: str
    annotation: Any
    reducer: Reducer | None
    default: Any = _MISSING
    """The value a reducer starts from when the key was never written."""


@dataclass(frozen=True, slots=True)
class StateSchema:
    """The keys of a graph's state and how updates to each combine."""

    cls: type
    channels: Mapping[str, Channel]
    is_dataclass: bool

    @classmethod
    def from_type(cls, schema: type) -> StateSchema:
        """Read a ``TypedDict`` or dataclass into a schema.

        Raises:
            GraphValidationError: ``schema`` is neither, or its hints cannot be read.
        """
        is_dc = dataclasses.is_dataclass(schema)
        if not is_dc and not _is_typeddict(schema):
            raise GraphValidationError(
                f"StateGraph needs a TypedDict or a dataclass as its state schema, "
                f"got {schema!r}"
            )
        try:
            hints = typing.get_type_hints(schema, include_extras=True)
        except Exception as exc:  # NameError for unresolved forward references
            raise GraphValidationError(
                f"Cannot read the type hints of {schema.__qualname__}: {exc}"
            ) from exc
        channels = {name: _channel(name, hint) for name, hint in hints.items()}
        return cls(cls=schema, channels=channels, is_dataclass=is_dc)

    def check_update(self, node: str, update: Mapping[str, Any]) -> None:
        """Raise if ``update`` writes a key the schema does not have.

        Raises:
            InvalidUpdateError: naming the node, the unknown keys and the known ones.
        """
        unknown = [key for key in update if key not in self.channels]
        if unknown:
            raise InvalidUpdateError(
                f"{node!r} wrote unknown state key(s) {', '.join(map(repr, unknown))}; "
                f"{self.cls.__qualname__} has {', '.join(self.channels) or 'no keys'}"
            )

    def apply(
        self,
        values: Mapping[str, Any],
        updates: Iterable[tuple[str, Mapping[str, Any]]],
    ) -> dict[str, Any]:
        """Return new values: ``values`` with ``updates`` applied in the given order.

        Args:
            values: the state before the step (not modified).
            updates: ``(node, partial update)`` pairs, in the step's fixed order.

        Raises:
            InvalidUpdateError: an unknown key, or two writers of a key without reducer.
        """
        new = dict(values)
        written: dict[str, str] = {}
        for node, update in updates:
            self.check_update(node, update)
            for key, value in update.items():
                channel = self.channels[key]
                if channel.reducer is None:
                    if key in written and written[key] != node:
                        raise InvalidUpdateError(
                            f"{written[key]!r} and {node!r} both wrote {key!r} in one "
                            f"step; annotate it with a reducer, e.g. "
                            f"Annotated[list, operator.add], to combine them"
                        )
                    written[key] = node
                    new[key] = value
                    continue
                old = new.get(key, channel.default)
                try:
                    new[key] = value if old is _MISSING else channel.reducer(old, value)
                except Exception as exc:
                    raise InvalidUpdateError(
                        f"The reducer of {key!r} failed on {node!r}'s update: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
        return new

    def initial_values(self) -> dict[str, Any]:
        """The values of a new thread before its first input: the start value of
        each reducer key that has one (an empty list for ``Annotated[list, add]``),
        as LangGraph's channels hold them."""
        return {
            name: channel.default
            if not isinstance(channel.default, list | dict | set)
            else type(channel.default)()
            for name, channel in self.channels.items()
            if channel.default is not _MISSING
        }

    def node_input(self, values: Mapping[str, Any]) -> Any:
        """The state as a node receives it: a dict, or an instance of the dataclass."""
        if self.is_dataclass:
            return self.cls(**values)
        return dict(values)

    def classes(self) -> set[type]:
        """Enum, dataclass and model classes named in the schema's annotations.

        A checkpointer may revive these (and only these) when it reads values back.
        """
        found: set[type] = set()
        for channel in self.channels.values():
            _collect_classes(channel.annotation, found)
            if channel.reducer is add_messages:
                found |= message_classes()
        return found


def _is_typeddict(tp: type) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _channel(name: str, hint: Any) -> Channel:
    reducer: Reducer | None = None
    base = hint
    if typing.get_origin(hint) is typing.Annotated:
        base = hint.__origin__
        callables = [m for m in hint.__metadata__ if callable(m)]
        if callables:
            reducer = callables[-1]
    default = _MISSING
    if reducer is not None:
        origin = typing.get_origin(base) or base
        if origin in _DEFAULT_FACTORIES:
            default = origin()
    return Channel(name=name, annotation=base, reducer=reducer, default=default)


def _collect_classes(tp: Any, found: set[type]) -> None:
    if typing.get_origin(tp) is typing.Annotated:
        tp = tp.__origin__
    if isinstance(tp, type):
        if (
            issubclass(tp, enum.Enum)
            or dataclasses.is_dataclass(tp)
            or hasattr(tp, "model_validate")
        ) and tp not in found:
            found.add(tp)
            if dataclasses.is_dataclass(tp):
                for hint in _safe_hints(tp).values():
                    _collect_classes(hint, found)
        return
    for arg in typing.get_args(tp):
        _collect_classes(arg, found)


def _safe_hints(tp: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp, include_extras=True)
    except Exception:
        return {}
