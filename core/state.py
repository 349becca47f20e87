"""The state schema: which keys a graph's state has and how updates combine.

A schema is a ``TypedDict``, a dataclass or a pydantic model, or any other type for
a state that is one value (``Annotated[list, operator.add]``). A field annotated
``Annotated[T, reducer]`` combines updates with ``reducer(old, new)`` (e.g.
``operator.add`` appends to a list); any other field is overwritten, and only one node
may write it per step.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from timeloom.core.errors import ConfigError, GraphValidationError, InvalidUpdateError
from timeloom.core.messages import (
    is_add_messages,
    message_classes,
    object_with_id,
    with_message_ids,
    with_object_ids,
)
from timeloom.core.untracked import UntrackedValue

if TYPE_CHECKING:
    from pydantic import TypeAdapter

Reducer = Callable[[Any, Any], Any]

_MISSING: Any = object()
OVERWRITE: Final = "__overwrite__"
"""``{"__overwrite__": value}`` in an update: set a key that has a reducer to
``value``, bypassing the reducer (LangGraph's JSON form of its ``Overwrite``)."""


@dataclass(frozen=True, slots=True)
class Overwrite:
    """In an update, the value of a key with a reducer that bypasses it: the key
    becomes ``value``, and the key's other updates of the same step after it are
    ignored (as LangGraph's ``Overwrite``; two in one step are an error)."""

    value: Any


def plain_overwrites(update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` with each ``Overwrite`` (Timeloom's or LangGraph's) in its plain
    form ``{"__overwrite__": value}``, which every backend can store."""
    for value in update.values():
        if type(value).__name__ == "Overwrite":
            break
    else:
        return dict(update)  # the common case: no overwrite
    return {
        key: {OVERWRITE: value.value}
        if type(value).__name__ == "Overwrite" and hasattr(value, "value")
        else value
        for key, value in update.items()
    }


def is_pairs(update: Any) -> bool:
    """Whether ``update`` is a list (or tuple) of ``(key, value)`` pairs, the form
    of ``Command(update=...)`` that may write a key several times (LangGraph's)."""
    return isinstance(update, list | tuple) and all(
        type(pair) is tuple and len(pair) == 2 and isinstance(pair[0], str)
        for pair in update
    )


def grouped_writes(pairs: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """A task's ``(key, value)`` writes, in order, as its updates: one dict when
    no key is written twice, else one dict per write (so each write reaches the
    reducer, and streams show them as LangGraph's ``updates`` mode does); at
    least one (empty: the task wrote nothing)."""
    keys = {key for key, _ in pairs}
    if len(keys) == len(pairs):
        return [plain_overwrites(dict(pairs))]
    return [plain_overwrites({key: value}) for key, value in pairs]


_MAY_OVERWRITE = (dict, Overwrite)
"""The types an overwrite comes as (see :func:`_overwritten`)."""


def _overwritten(value: Any) -> tuple[bool, Any]:
    """Whether ``value`` is an overwrite (plain, or LangGraph's serialised form
    ``{"type": "__overwrite__", "value": ...}``), and its value."""
    if isinstance(value, dict):
        if len(value) == 1 and OVERWRITE in value:
            return True, value[OVERWRITE]
        if value.keys() == {"type", "value"} and value["type"] == OVERWRITE:
            return True, value["value"]
    elif isinstance(value, Overwrite):
        return True, value.value
    return False, None


# Types whose no-argument call gives the neutral start value of a reducer channel.
_DEFAULT_FACTORIES: tuple[type, ...] = (list, dict, set, tuple, int, float, str)
# Abstract collection types start as their usual concrete one (as in LangGraph).
_CONCRETE: dict[Any, type] = {
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: set,
    collections.abc.MutableSet: set,
    collections.abc.Mapping: dict,
    collections.abc.MutableMapping: dict,
}


@dataclass(frozen=True, slots=True)
class Channel:
    """One key of the state."""

    name: str
    annotation: Any
    reducer: Reducer | None
    default: Any = _MISSING
    """The value a reducer starts from when the key was never written."""
    untracked: bool = False
    """Never stored (see :mod:`timeloom.core.untracked`)."""
    guard: bool = True
    """Without reducer: a second write in one step is an error (``False``: an
    ``UntrackedValue(guard=False)``, whose last write wins)."""


SchemaKind = Literal["dict", "dataclass", "model", "root"]

ROOT: Final = "__root__"
"""The one key of a state that is not a mapping (``StateGraph(Annotated[list, add])``)."""


@dataclass(frozen=True, slots=True)
class StateSchema:
    """The keys of a graph's state and how updates to each combine."""

    cls: type
    channels: Mapping[str, Channel]
    kind: SchemaKind
    """``dict`` (a TypedDict), ``dataclass``, ``model`` (pydantic) or ``root`` (a
    state that is one value, held under :data:`ROOT`)."""
    keys: tuple[str, ...]
    """The keys ``cls`` itself declares. ``channels`` may hold more: the keys of the
    graph's input and output schemas and of nodes' own input schemas."""

    @classmethod
    def from_type(cls, schema: Any) -> StateSchema:
        """Read a ``TypedDict``, dataclass or pydantic model into a schema; any other
        type (e.g. ``Annotated[list, operator.add]``) is a state of one value.

        Raises:
            GraphValidationError: the type hints cannot be read.
        """
        kind: SchemaKind
        if isinstance(schema, type) and dataclasses.is_dataclass(schema):
            kind = "dataclass"
        elif _is_typeddict(schema):
            kind = "dict"
        elif isinstance(schema, type) and hasattr(schema, "model_fields"):
            kind = "model"
        else:
            channel = _channel(ROOT, schema)
            origin = typing.get_origin(channel.annotation) or channel.annotation
            owner = origin if isinstance(origin, type) else object
            return cls(owner, {ROOT: channel}, "root", (ROOT,))
        try:
            hints = typing.get_type_hints(schema, include_extras=True)
        except Exception as exc:  # NameError for unresolved forward references
            raise GraphValidationError(
                f"Cannot read the type hints of {schema.__qualname__}: {exc}"
            ) from exc
        if kind == "model":
            hints = {k: v for k, v in hints.items() if k in schema.model_fields}
        channels = {name: _channel(name, hint) for name, hint in hints.items()}
        return cls(schema, channels, kind, tuple(channels))

    @classmethod
    def of_node_input(
        cls, fn: Callable[..., Any], state: StateSchema
    ) -> StateSchema | None:
        """The schema a node declares by annotating its first parameter, when it is
        another TypedDict, dataclass or model than the state's (LangGraph gives such
        a node only those keys, which may be private to some nodes)."""
        annotated = fn if inspect.isroutine(fn) else getattr(type(fn), "__call__", fn)  # noqa: B004
        try:
            first = next(iter(inspect.signature(fn).parameters), None)
            hints = typing.get_type_hints(annotated, include_extras=True)
            hint = hints.get(first or "")
        except Exception:  # an unresolvable annotation declares nothing
            return None
        if hint is None or hint is state.cls or not isinstance(hint, type):
            return None
        if not (_is_typeddict(hint) or dataclasses.is_dataclass(hint)):
            if not hasattr(hint, "model_fields"):
                return None
        return cls.from_type(hint)

    def merged(self, *others: StateSchema | None) -> StateSchema:
        """This schema with the keys of ``others`` it lacks (the graph's channels)."""
        channels = dict(self.channels)
        for other in others:
            for name, channel in (other.channels if other else {}).items():
                channels.setdefault(name, channel)
        return dataclasses.replace(self, channels=channels)

    def node_input(
        self, values: Mapping[str, Any], own: StateSchema | None = None
    ) -> Any:
        """The state as a node receives it: the keys of its schema (``own``, else
        this one) as a dict or an instance of the schema's class; a root value."""
        schema = own or self
        if schema.kind == "root":
            return values.get(ROOT)
        if schema is self and len(self.channels) == len(self.keys):
            picked = dict(values)
        else:
            picked = {k: values[k] for k in schema.keys if k in values}
        if schema.kind == "dict":
            return picked
        return schema.cls(**picked)

    def json_schema(self, title: str) -> dict[str, Any]:
        """This schema as JSON Schema, as LangGraph gives it (pydantic's); a
        dataclass or a state of one value is titled ``title``, as LangGraph names
        the model it makes of them.

        Raises:
            ConfigError: pydantic is not installed (it is optional).
        """
        adapter = _type_adapter()
        if self.kind == "root":
            of = self.channels[ROOT].annotation
            return {**adapter(of).json_schema(), "default": None, "title": title}
        if self.kind != "dataclass":
            schema: dict[str, Any] = adapter(self.cls).json_schema()
            return schema
        from pydantic import create_model

        # As LangGraph reads a dataclass: a field without a default is optional
        # when its type admits None.
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(self.cls):
            hint = self.channels[f.name].annotation
            if f.default is not dataclasses.MISSING and f.default is not ...:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = None if _admits_none(hint) else ...
            fields[f.name] = (hint, default)
        made: dict[str, Any] = create_model(title, **fields).model_json_schema()
        return made

    def output(self, values: Mapping[str, Any]) -> Any:
        """What a run returns of ``values`` with this as its output schema."""
        if self.kind == "root":
            return values.get(ROOT)
        return {k: values[k] for k in self.keys if k in values}

    def every_value(self, values: Mapping[str, Any]) -> Any:
        """What a root graph's ``values`` stream chunk shows of ``values``: every
        key of the graph (the output schema's and private ones too) in the
        schema's order, as LangGraph streams its channels (a subgraph's chunks
        keep to its output schema, as LangGraph's)."""
        if self.kind == "root":
            return values.get(ROOT)
        return {k: values[k] for k in self.channels if k in values}

    def apply(
        self,
        values: Mapping[str, Any],
        updates: Iterable[tuple[str, Mapping[str, Any]]],
    ) -> dict[str, Any]:
        """Return new values: ``values`` with ``updates`` applied in the given order.

        Args:
            values: the state before the step (not modified).
            updates: ``(node, partial update)`` pairs, in the step's fixed order.

        Keys the graph does not have are ignored, as LangGraph ignores them.

        An :class:`Overwrite` (or ``{"__overwrite__": value}``) of a key with a
        reducer sets it, and the key's later updates in the step are ignored.

        Raises:
            InvalidUpdateError: two writers of a key without reducer in one step, two
                overwrites of a key, or a reducer that failed.
        """
        new = dict(values)
        written: dict[str, str] = {}
        overwritten: set[str] = set()
        for node, update in updates:
            for key, value in update.items():
                channel = self.channels.get(key)
                if channel is None:
                    continue
                if channel.reducer is not None:
                    if isinstance(value, _MAY_OVERWRITE):  # else it cannot be one
                        is_overwrite, replacement = _overwritten(value)
                        if is_overwrite:
                            if key in overwritten:
                                raise InvalidUpdateError(
                                    f"Can receive only one Overwrite value per "
                                    f"super-step ({key!r}, the second from {node!r})"
                                )
                            overwritten.add(key)
                            if isinstance(channel.reducer, DeltaReducer):
                                replacement = channel.reducer.overwrite(
                                    replacement, channel.default
                                )
                            new[key] = replacement
                            continue
                    if key in overwritten:  # as LangGraph: the overwrite wins
                        continue
                if channel.reducer is None:
                    if key in written and channel.guard:  # LangGraph's words, then ours
                        who = (
                            f"{node!r} wrote it twice"
                            if written[key] == node
                            else f"{written[key]!r} and {node!r} both wrote it"
                        )
                        raise InvalidUpdateError(
                            f"At key {key!r}: Can receive only one value per step "
                            f"({who}); annotate it with a reducer, e.g. "
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
        if len(new) > len(values):  # a key's first write: keep the schema's order,
            # as LangGraph's state, which a node printing its state shows
            ordered = {k: new[k] for k in self.channels if k in new}
            if len(ordered) == len(new):
                return ordered
        return new

    @property
    def untracked(self) -> frozenset[str]:
        """The keys never stored (see :mod:`timeloom.core.untracked`)."""
        return frozenset(n for n, c in self.channels.items() if c.untracked)

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

    def classes(self) -> set[type]:
        """Enum, dataclass and model classes named in the schema's annotations.

        A checkpointer may revive these (and only these) when it reads values back.
        """
        found: set[type] = set()
        for channel in self.channels.values():
            _collect_classes(channel.annotation, found)
            reducer = channel.reducer
            if is_add_messages(reducer) or (
                isinstance(reducer, DeltaReducer) and reducer.messages
            ):
                found |= message_classes()
        return found


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


_QUALIFIERS = (typing.Required, typing.NotRequired)
"""``TypedDict`` key qualifiers, around a key's type and its reducer."""


def _channel(name: str, hint: Any) -> Channel:
    """The channel of key ``name`` annotated ``hint``.

    Raises:
        GraphValidationError: an invalid reducer, or one of LangGraph's channels
            Timeloom does not have.
    """
    reducer: Reducer | None = None
    while typing.get_origin(hint) in _QUALIFIERS:
        (hint,) = typing.get_args(hint)
    base = hint
    if typing.get_origin(hint) is typing.Annotated:
        base = hint.__origin__
        for meta in hint.__metadata__:  # as LangGraph: a channel before a reducer
            kind = _channel_kind(meta)
            if kind == "UntrackedValue":
                guard = (
                    getattr(meta, "guard", True) if not isinstance(meta, type) else True
                )
                return Channel(name, base, None, untracked=True, guard=bool(guard))
            if kind == "LastValue":
                return Channel(name, base, None)
            if kind == "BinaryOperatorAggregate" and not isinstance(meta, type):
                reducer = _checked_reducer(name, meta.operator)
                break
            if kind == "DeltaChannel" and not isinstance(meta, type):
                # Its reducer folds a batch of writes, the same in any batches:
                # one write at a time gives the same state (stored as Timeloom
                # stores every value).
                reducer = DeltaReducer(meta.reducer, _folds_messages(meta.reducer))
                break
            if kind is not None:
                raise GraphValidationError(
                    f"{name!r} is annotated with LangGraph's {kind} channel, which "
                    f"Timeloom does not have; use a reducer "
                    f"(Annotated[T, reducer]) or UntrackedValue",
                    title="Unsupported channel",
                )
        callables = [
            m for m in hint.__metadata__ if callable(m) and _channel_kind(m) is None
        ]
        if callables and reducer is None:
            reducer = _checked_reducer(name, callables[-1])
    default = _MISSING
    if reducer is not None:
        origin = typing.get_origin(base) or base
        origin = _CONCRETE.get(origin, origin)
        if origin in _DEFAULT_FACTORIES:
            default = origin()
    return Channel(name=name, annotation=base, reducer=reducer, default=default)


_LANGGRAPH_CHANNELS = {
    ("BaseChannel", "langgraph.channels"),
    ("ManagedValue", "langgraph.managed"),
}
"""The base classes of LangGraph's channels and managed values (name, package)."""


def _channel_kind(meta: Any) -> str | None:
    """The name of the channel ``meta`` is (a class or an instance): Timeloom's
    ``UntrackedValue`` or one of LangGraph's channels or managed values
    (``RemainingSteps``'s); ``None`` for anything else (a reducer, a description)."""
    cls = meta if isinstance(meta, type) else type(meta)
    if issubclass(cls, UntrackedValue):
        return "UntrackedValue"
    for base in cls.__mro__:  # LangGraph's, without importing it
        package = ".".join(base.__module__.split(".")[:2])
        if (base.__name__, package) in _LANGGRAPH_CHANNELS:
            return cls.__name__
    return None


@dataclass(frozen=True, slots=True)
class DeltaReducer:
    """The reducer of a key annotated with LangGraph's ``DeltaChannel``: its
    ``fold`` takes a batch of writes, this takes one write at a time.

    A ``fold`` that is LangGraph's messages reducer (``messages``) keeps a chat
    transcript: as LangGraph does for such a channel, each message written gets
    an id (strings, dicts and ``(role, content)`` pairs become LangChain
    messages), so that a later update or ``RemoveMessage`` can name it. With
    another ``fold``, as LangGraph does too, a LangChain message written without
    an id gets one, and a message dict in a list becomes a message with one.
    """

    fold: Callable[[Any, list[Any]], Any]
    messages: bool

    def __call__(self, current: Any, update: Any) -> Any:
        """``current`` with ``update`` folded in."""
        if self.messages:
            update = with_message_ids(update)
        else:
            update = with_object_ids(update)
        return self.fold(current, [update])

    def overwrite(self, value: Any, default: Any) -> Any:
        """What an ``Overwrite(value)`` sets the key to: as LangGraph's
        ``DeltaChannel``, ``None`` empties it (to a new ``default``, when the key
        has one) and the messages in a list get ids (strings and dicts too, in
        a transcript)."""
        if value is None:
            return value if default is _MISSING else type(default)()
        if isinstance(value, list | tuple):
            if self.messages:
                return type(value)(with_message_ids(list(value)))
            return type(value)(object_with_id(m) for m in value)
        return value


def _folds_messages(fold: Any) -> bool:
    """Whether ``fold`` is LangGraph's messages reducer for a ``DeltaChannel``
    (recognised by name, as :func:`_channel_kind` recognises LangGraph's
    channels, without importing LangGraph)."""
    return getattr(fold, "__name__", None) == "_messages_delta_reducer" and str(
        getattr(fold, "__module__", "")
    ).startswith("langgraph.")


def _checked_reducer(name: str, reducer: Reducer) -> Reducer:
    """``reducer`` if it takes two positional arguments, as LangGraph requires.

    Raises:
        GraphValidationError: it takes another number (a callable whose signature
            cannot be read is taken as it is).
    """
    try:
        params = inspect.signature(reducer).parameters.values()
    except (TypeError, ValueError):
        return reducer
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    if sum(p.kind in positional for p in params) != 2:
        raise GraphValidationError(  # LangGraph's words, then ours
            f"Invalid reducer signature. Expected (a, b) -> c. Got "
            f"{inspect.signature(reducer)} (the reducer of {name!r} is called with "
            f"the current value and an update)"
        )
    return reducer


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


def _admits_none(hint: Any) -> bool:
    """Whether ``hint`` (through ``Annotated``) is a union with ``None``."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return type(None) in typing.get_args(hint)


def context_json_schema(schema: Any) -> dict[str, Any] | None:
    """A graph's context schema as JSON Schema, as LangGraph gives it (pydantic's);
    ``None`` without one.

    Raises:
        ValueError: ``schema`` is not a pydantic model, ``TypedDict`` or dataclass.
        ConfigError: pydantic is not installed (it is optional).
    """
    if schema is None:
        return None
    adapter = _type_adapter()
    if inspect.isclass(schema) and hasattr(schema, "model_json_schema"):
        described: dict[str, Any] = schema.model_json_schema()
        return described
    if _is_typeddict(schema) or dataclasses.is_dataclass(schema):
        return adapter(schema).json_schema()
    raise ValueError(
        f"Invalid context schema type: {schema!r}; it must be a pydantic model, "
        "a TypedDict or a dataclass"
    )


def _type_adapter() -> type[TypeAdapter[Any]]:
    """pydantic's ``TypeAdapter``, which makes JSON Schemas (pydantic is optional).

    Raises:
        ConfigError: pydantic is not installed.
    """
    try:
        from pydantic import TypeAdapter as adapter
    except ImportError as exc:
        raise ConfigError(
            "A graph's JSON Schema needs pydantic: pip install pydantic",
            title="pydantic not installed",
        ) from exc
    return adapter
