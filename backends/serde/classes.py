"""Which application classes a schema names, and reviving them from stored fields.

Registration is the only way a class is ever constructed from stored data; a
registered class that fails to revive stays inert.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
import typing
from collections.abc import Iterable, Iterator
from typing import Any, Final

from timeloom.backends.inert import Inert, InertKind


def pydantic_base() -> type | None:
    """pydantic's ``BaseModel`` if pydantic was imported, else None."""
    # Never import pydantic: if it was not imported, no object is a pydantic model.
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None)
    return base if isinstance(base, type) else None


# -- finding the classes a schema names -----------------------------------------------


def classes_named_by(tp: Any, seen: set[int]) -> Iterator[type]:
    """The Enum, dataclass and pydantic classes in ``tp``, searched recursively."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if isinstance(tp, list | tuple | set | frozenset):
        for item in tp:
            yield from classes_named_by(item, seen)
        return
    for arg in typing.get_args(tp):  # list[X], X | None, Annotated[X, ...], ...
        yield from classes_named_by(arg, seen)
    if not isinstance(tp, type) or typing.get_origin(tp) is not None:
        return
    model_base = pydantic_base()
    is_model = model_base is not None and issubclass(tp, model_base)
    if issubclass(tp, enum.Enum) or dataclasses.is_dataclass(tp) or is_model:
        yield tp
    if is_model or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        yield from classes_named_by(list(_annotations(tp)), seen)


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

FAILED: Final = object()
"""What :func:`revive` returns when a class does not accept the stored fields."""


def revive(kind: InertKind, cls: type, fields: dict[str, Any]) -> Any:
    """An instance of registered ``cls`` from stored ``fields``, or :data:`FAILED`."""
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
        return FAILED
    return FAILED


def _revive_dataclass(cls: type, fields: dict[str, Any]) -> Any:
    names, init, late = _dataclass_layout(cls)
    if names != fields.keys():
        return FAILED
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
