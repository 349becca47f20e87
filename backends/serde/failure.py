"""Naming the value that cannot be stored, with its path, after encoding failed."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from typing import Any, Final

import msgpack

from timeloom.backends.serde.classes import pydantic_base
from timeloom.backends.serde.ext import MAX_NESTING, TOO_DEEP, TooDeep, Unsupported

_MAX_DEPTH: Final = (
    400  # deeper than this is reported as the problem, before Python's limit
)
SUPPORTED: Final = (
    "None, bool, int, float, str, bytes, list, dict, tuple, set, frozenset, "
    "datetime, date, time, timedelta, UUID, Decimal, Enum members, dataclasses, "
    "pydantic models"
)
"""What the codec stores, as an error message says it."""


def _key(key: Any) -> str:
    text = json.dumps(key, ensure_ascii=False) if type(key) is str else repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_failure(
    obj: Any, root: str, exc: Exception, convert: Callable[[int, Any], Any]
) -> str:
    """Say which value in ``obj`` could not be stored, and why.

    Run only after encoding failed, so the hot path pays nothing for the path.

    Args:
        obj: the value that failed to encode.
        root: what to call ``obj`` (``"values"``).
        exc: what the encoder raised, reported if no culprit is found.
        convert: the encoder's hook for a non-native value at an ext ``level``
            (returns an ext value, or the value as its base type).

    Returns:
        ``cannot store PATH: REASON``.
    """
    try:
        found = _find(obj, root, convert, set(), 0, 0)
    except RecursionError:
        found = (root, "it is nested too deeply")
    if found is None:
        return f"cannot store {root}: {type(exc).__name__}: {exc}"
    path, reason = found
    return f"cannot store {path}: {reason}"


def _find(
    obj: Any,
    path: str,
    convert: Callable[[int, Any], Any],
    active: set[int],
    depth: int,
    level: int,
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
        children = _children(obj, path)
    except Exception as exc:  # reading a field raised
        return path, f"reading it raised {type(exc).__name__}: {exc}"
    if children is None:  # a leaf: datetime, UUID, unsupported...
        try:
            converted = convert(level, obj)
        except Unsupported as exc:
            return path, f"{exc} (supported: {SUPPORTED})"
        except TooDeep:
            return path, TOO_DEEP
        except Exception as exc:  # reported, not raised
            return path, f"{kind.__name__} value: {type(exc).__name__}: {exc}"
        if isinstance(converted, msgpack.ExtType):
            return None
        children, inner = [(path, converted)], level  # a subclass, as its base
    elif isinstance(obj, dict | list) and not isinstance(obj, enum.Enum):
        inner = level  # stored natively: no ext level
    elif level >= MAX_NESTING:
        return path, TOO_DEEP
    else:
        inner = level + 1
    active.add(id(obj))
    for child_path, child in children:
        found = _find(child, child_path, convert, active, depth + 1, inner)
        if found is not None:
            return found
    active.discard(id(obj))
    return None


def _children(obj: Any, path: str) -> list[tuple[str, Any]] | None:
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
            (f"{path}.{f.name}", getattr(obj, f.name)) for f in dataclasses.fields(obj)
        ]
    base = pydantic_base()
    if base is not None and isinstance(obj, base):
        names = list(getattr(type(obj), "model_fields", ()))
        extra = getattr(obj, "__pydantic_extra__", None) or {}
        return [(f"{path}.{name}", getattr(obj, name)) for name in names] + [
            (f"{path}.{name}", value) for name, value in extra.items()
        ]
    return None
