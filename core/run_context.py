"""A run's context: what ``invoke(..., context=...)`` hands to the nodes.

As in LangGraph, a node that declares a ``runtime`` parameter is called with a
:class:`Runtime` whose ``context`` is the run's (the graphs it invokes, its
subgraphs, see the same); the context is not part of the state and is never
checkpointed. A plain dict given for a dataclass or pydantic ``context_schema``
is made into one.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from timeloom.core.interrupts import StreamWriter

ContextT = TypeVar("ContextT")


def _dropped(chunk: Any) -> None:
    """The stream writer of a run that does not stream ``"custom"``."""


@dataclass(frozen=True, slots=True)
class Runtime(Generic[ContextT]):
    """What a node's ``runtime`` parameter is given (LangGraph's ``Runtime``)."""

    context: ContextT = None  # type: ignore[assignment]
    """The run's context (``invoke(..., context=...)``), ``None`` without one."""
    store: None = None
    """Always ``None``: Timeloom has no long-term memory store."""
    stream_writer: StreamWriter = _dropped
    """Sends a chunk to ``stream_mode="custom"`` (drops it otherwise)."""
    previous: Any = None
    """Always ``None`` (the functional API's previous return value)."""


def coerce_context(schema: Any, context: Any) -> Any:
    """``context`` as the run's nodes see it: a dict made into the
    ``context_schema`` when that is a dataclass or pydantic model (as LangGraph)."""
    if context is None or schema is None or not isinstance(context, dict):
        return context
    if inspect.isclass(schema) and (
        dataclasses.is_dataclass(schema) or hasattr(schema, "model_validate")
    ):
        return schema(**context)
    return context
