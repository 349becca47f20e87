"""Check an edit of a checkpoint's values before anything is written.

:func:`parse_edit` turns the editor's text into new values (see
:mod:`timeloom.tui.ops.jsonedit`) and checks them: JSON syntax (with line and column),
tags, keys the state does not have, values of the wrong type for the graph's schema
(:func:`check_type`), and edits of inert values, which cannot be re-encoded.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from timeloom.backends.inert import Inert
from timeloom.core.state import StateSchema
from timeloom.tui.ops.jsondecode import loads
from timeloom.tui.ops.jsonedit import JsonEditError, encode


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True, slots=True)
class ParsedEdit:
    """Checked values from the editor, and what the edit changes."""

    values: dict[str, Any]
    """The whole state as edited."""
    changed: tuple[str, ...]
    """Top-level keys whose value differs from the original (added ones too)."""
    removed: tuple[str, ...]
    """Top-level keys the edit deleted."""


def parse_edit(
    text: str,
    original: Mapping[str, Any],
    schema: StateSchema | None = None,
    *,
    keys: Sequence[str] | None = None,
) -> ParsedEdit:
    """Turn the editor's text into checked state values.

    Args:
        text: the JSON the user wrote.
        original: the checkpoint's values before the edit.
        schema: the graph's state schema, when a graph is loaded: its keys are the
            allowed ones and its simple annotations are checked. Without it, only
            keys of ``original`` are allowed.
        keys: the text holds only these keys of the state (editing a part of a
            large state); the other keys keep their values.

    Returns:
        The values and the keys the edit changes.

    Raises:
        JsonEditError: every problem found, each naming its place.
    """
    classes = schema.classes() if schema is not None else set()
    data = loads(text, classes)
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise JsonEditError(["(top level): the state must be a JSON object of keys"])
    problems: list[str] = []
    allowed = list(schema.channels) if schema is not None else list(original)
    owner = schema.cls.__qualname__ if schema is not None else "the checkpoint"
    for key in data:
        if key not in allowed:
            problems.append(
                f"{key}: unknown key; {owner} has {', '.join(allowed) or 'no keys'}"
            )
    if schema is not None:
        for key, value in data.items():
            channel = schema.channels.get(key)
            if channel is not None:
                problems.extend(check_type(value, channel.annotation, key))
    for key, value in data.items():
        if key in original:
            problems.extend(_inert_edits(original[key], value, key))
    if problems:
        raise JsonEditError(problems)
    changed = tuple(
        key for key, value in data.items() if not _same(original.get(key, _GONE), value)
    )
    shown = list(original) if keys is None else [k for k in keys if k in original]
    removed = tuple(key for key in shown if key not in data)
    if keys is None:
        return ParsedEdit(values=data, changed=changed, removed=removed)
    values = {
        key: data.get(key, value)
        for key, value in original.items()
        if key not in removed
    }
    values.update((key, value) for key, value in data.items() if key not in values)
    return ParsedEdit(values=values, changed=changed, removed=removed)


def graph_update(
    edit: ParsedEdit, original: Mapping[str, Any], schema: StateSchema
) -> dict[str, Any]:
    """The partial update that turns ``original`` into the edited values through the
    graph's reducers.

    A key with a reducer (``Annotated[list, operator.add]``) combines an update with
    the old value, so writing the whole edited list would append it again: for such
    keys the update is the appended tail, and the reducer's result is checked to be
    exactly what the user wrote. The editor runs this as the user types, so an edit
    that cannot be saved is said before saving.

    Raises:
        JsonEditError: keys that were deleted, or changed in a way the reducer
            cannot express (changing or removing an item of an appended list).
    """
    if edit.removed:
        raise JsonEditError(
            [
                f"{key}: an update cannot delete a key; set it to null instead"
                for key in edit.removed
            ]
        )
    channels = schema.channels

    def reducer_of(key: str) -> Callable[[Any, Any], Any] | None:
        channel = channels.get(key)
        return channel.reducer if channel is not None else None

    def fits(key: str, value: Any) -> bool:
        channel = channels.get(key)
        return channel is None or not check_type(value, channel.annotation, key)

    return reducer_update(
        original,
        edit.values,
        edit.changed,
        reducer_of,
        fits,
        hint=" (open the database without --graph to rewrite the values as they stand)",
    )


def reducer_update(
    original: Mapping[str, Any],
    values: Mapping[str, Any],
    changed: Sequence[str],
    reducer_of: Callable[[str], Callable[[Any, Any], Any] | None],
    fits: Callable[[str, Any], bool] = lambda key, value: True,
    *,
    hint: str = "",
) -> dict[str, Any]:
    """The partial update that turns ``original`` into ``values`` through reducers.

    The algorithm behind :func:`graph_update`, for any runtime: for a key with a
    reducer the update is the appended tail when the edit only appended, else the
    whole value (which a reducer that replaces items by id, like LangGraph's
    ``add_messages``, accepts); either way the reducer's result must be exactly what
    the user wrote.

    Args:
        original: the values before the edit.
        values: the values as edited.
        changed: the keys whose value differs.
        reducer_of: the reducer of a key, or None.
        fits: whether a value is acceptable for a key (its annotation).
        hint: added to each refusal (what else the user can do).

    Raises:
        JsonEditError: keys whose reducer cannot produce the edited value.
    """
    update: dict[str, Any] = {}
    refused: list[str] = []
    for key in changed:
        new = values[key]
        reducer = reducer_of(key)
        if reducer is None or key not in original:
            update[key] = new
            continue
        old = original[key]
        candidates = [new]
        if isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
            candidates.insert(0, new[len(old) :])
        for candidate in candidates:
            try:
                combined = reducer(old, candidate)
            except Exception:  # the reducer rejects this shape: try the next one
                continue
            if combined == new and fits(key, combined):
                update[key] = candidate
                break
        else:
            refused.append(
                f"{key} is combined by a reducer, which an update cannot bypass: "
                f"only appending items can be saved{hint}"
            )
    if refused:
        raise JsonEditError(refused)
    return update


_GONE: Any = object()


def _same(a: Any, b: Any) -> bool:
    # Equal *and* written the same: 1 == 1.0 == True, but the edit changes the type.
    if a is _GONE:
        return False
    try:
        if a != b:
            return False
    except Exception:  # an application __eq__ that raises: treat as changed
        return False
    try:
        return bool(encode(a) == encode(b))
    except TypeError:
        return True


def _inert_edits(old: Any, new: Any, path: str) -> list[str]:
    """Problems where the edit changed the shown fields of an inert value."""
    if isinstance(old, Inert):
        if isinstance(new, Inert) and new == old and encode(new) != encode(old):
            return [
                f"{path}: {old.type_name} is not loaded in this process, so its fields "
                f"cannot be edited (replace the whole value, or open with --graph)"
            ]
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return [
            p
            for key in old
            if key in new
            for p in _inert_edits(old[key], new[key], _join(path, str(key)))
        ]
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=False))
            for p in _inert_edits(a, b, f"{path}[{i}]")
        ]
    return []


# -- checking values against simple annotations --------------------------------------

_HINTS: Mapping[type, str] = {
    Decimal: '{"$decimal": "12.50"}',
    datetime: '{"$datetime": "2026-11-02T09:30:00+00:00"}',
    date: '{"$date": "2026-11-02"}',
    uuid.UUID: '{"$uuid": "..."}',
    timedelta: '{"$timedelta": "3600"}',
    tuple: '{"$tuple": [...]}',
    set: '{"$set": [...]}',
    bytes: '{"$bytes": "<base64>"}',
}


def check_type(value: Any, annotation: Any, path: str) -> list[str]:
    """Problems with ``value`` as a value of ``annotation`` (empty when it fits).

    Checks what can be checked without running application code: builtins, the
    codec's types, ``Optional``/``Union``, ``Literal``, ``list[X]``, ``dict[K, V]``,
    ``tuple``, ``set``, nested ``TypedDict``, Enum/dataclass/model classes. Anything
    else (``Any``, type variables, protocols...) is accepted.
    """
    if annotation is Any or annotation is object:
        return []
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return check_type(value, args[0], path)
    if origin is typing.Union or origin is types.UnionType:
        branches = [check_type(value, arg, path) for arg in args]
        if any(not b for b in branches):
            return []
        return [f"{path}: expected {_describe(annotation)}, got {_got(value)}"]
    if origin is typing.Literal:
        if value in args:
            return []
        return [f"{path}: expected one of {', '.join(map(repr, args))}, got {value!r}"]
    if annotation is None or annotation is type(None):
        return [] if value is None else [f"{path}: expected null, got {_got(value)}"]
    if isinstance(annotation, type) and typing.is_typeddict(annotation):
        return _check_typeddict(value, annotation, path)
    base = origin if isinstance(origin, type) else annotation
    if not isinstance(base, type):
        return []
    if not _instance(value, base):
        hint = _HINTS.get(base)
        extra = f"; write it as {hint}" if hint and isinstance(value, str) else ""
        return [f"{path}: expected {_describe(annotation)}, got {_got(value)}{extra}"]
    if base is list and args and isinstance(value, list):
        return [
            p
            for i, v in enumerate(value)
            for p in check_type(v, args[0], f"{path}[{i}]")
        ]
    if base is dict and len(args) == 2 and isinstance(value, dict):
        return [
            p
            for k, v in value.items()
            for p in check_type(v, args[1], _join(path, str(k)))
        ]
    return []


def _instance(value: Any, base: type) -> bool:
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is date and isinstance(value, datetime):
        return False
    if isinstance(value, Inert):
        # A stored class this process did not revive: accept it where a class is due.
        return not _is_builtin(base)
    try:
        return isinstance(value, base)
    except TypeError:  # a generic alias or protocol isinstance() cannot check
        return True


def _is_builtin(base: type) -> bool:
    return base.__module__ in ("builtins", "datetime", "decimal", "uuid")


def _check_typeddict(value: Any, annotation: type, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [
            f"{path}: expected an object ({annotation.__qualname__}), got {_got(value)}"
        ]
    try:
        hints = typing.get_type_hints(annotation)
    except Exception:  # unresolvable forward references: accept
        return []
    problems = [
        f"{_join(path, str(key))}: unknown key; {annotation.__qualname__} has "
        f"{', '.join(hints)}"
        for key in value
        if key not in hints
    ]
    for key, hint in hints.items():
        if key in value:
            problems.extend(check_type(value[key], hint, _join(path, key)))
    return problems


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__qualname__
    return str(annotation).replace("typing.", "")


def _got(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__qualname__} {text}"
