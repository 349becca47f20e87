"""Reading the ``config`` argument of ``invoke`` and friends.

Both LangGraph's shape ``{"configurable": {"thread_id": ..., "checkpoint_id": ...}}``
and the flat ``{"thread_id": ...}`` are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from timeloom.core.namespaces import split_timeline, timeline

DEFAULT_RECURSION_LIMIT = 25

_NOT_METADATA = frozenset(
    {
        "thread_id",
        "checkpoint_id",
        "checkpoint_ns",
        "checkpoint_map",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
    }
)
"""The configurable keys that address a checkpoint or a task: not metadata."""

_TASK_METADATA = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)
"""The configurable keys LangGraph copies into each task's metadata."""


class RunConfig(NamedTuple):  # a tuple: read for every run, cheaply
    """What the runtime reads from a config."""

    thread_id: str | None = None
    checkpoint_id: str | None = None
    metadata: Mapping[str, Any] = MappingProxyType({})
    recursion_limit: int = DEFAULT_RECURSION_LIMIT
    raw: Mapping[str, Any] = MappingProxyType({})
    """The config as given, passed to nodes that take a ``config`` argument."""

    @property
    def task_metadata(self) -> dict[str, Any]:
        """What each task's metadata (and its ``messages`` chunks) starts with: the
        run's ``thread_id``, ``run_id``, ``assistant_id``... as LangGraph copies
        them from ``configurable``."""
        configurable = self.raw.get("configurable") or {}
        return {k: configurable[k] for k in _TASK_METADATA if configurable.get(k)}

    @classmethod
    def parse(cls, config: Mapping[str, Any] | None) -> RunConfig:
        """Read a config dict (``None`` is an empty config)."""
        if not config:
            return cls()
        configurable = config.get("configurable") or {}
        thread_id = configurable.get("thread_id", config.get("thread_id"))
        ns = configurable.get("checkpoint_ns")
        if ns and thread_id is not None:  # a subgraph's (see namespaces)
            thread_id = timeline(str(thread_id), ns)
        checkpoint_id = configurable.get("checkpoint_id", config.get("checkpoint_id"))
        metadata = dict(config.get("metadata") or {})
        if "run_id" in config and "run_id" not in metadata:
            metadata["run_id"] = str(config["run_id"])
        # As LangGraph's savers record them: the run's own configurable values,
        # when they are plain scalars, on each checkpoint it writes.
        for key, value in configurable.items():
            if key in metadata or key in _NOT_METADATA or key.startswith("__"):
                continue
            if isinstance(value, str):
                metadata[key] = value.replace("\x00", "")
            elif isinstance(value, int | float):  # bool is an int
                metadata[key] = value
        return cls(
            None if thread_id is None else str(thread_id),
            checkpoint_id or None,
            metadata,
            int(config.get("recursion_limit", DEFAULT_RECURSION_LIMIT)),
            config,
        )


def merge_configs(*configs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``configs`` as one, later ones winning, as LangGraph merges a graph's bound
    config (``with_config``) with a call's: ``configurable`` and ``metadata`` are
    merged key by key, ``tags`` and a list of ``callbacks`` are joined, and an
    empty value leaves the earlier one in place."""
    merged: dict[str, Any] = {}
    for config in configs:
        for key, value in (config or {}).items():
            if not value:
                continue
            earlier = merged.get(key)
            if key in ("configurable", "metadata") and earlier:
                merged[key] = {**earlier, **value}
            elif key in ("tags", "callbacks") and isinstance(earlier, list):
                merged[key] = [*earlier, *value] if isinstance(value, list) else value
            else:
                merged[key] = value
    return merged


def make_config(thread_id: str, checkpoint_id: str | None) -> dict[str, Any]:
    """Return LangGraph's config shape for a checkpoint: a subgraph's timeline
    ``"t|ns"`` is thread ``t``, ``checkpoint_ns`` ``ns``."""
    root, ns = split_timeline(thread_id)
    configurable: dict[str, Any] = {"thread_id": root, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}
