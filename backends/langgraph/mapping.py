"""From LangGraph's stored rows to Timeloom's checkpoint model (pure functions).

How a LangGraph thread maps onto :mod:`timeloom.core.checkpoint`:

- **Timelines.** The root graph of thread ``t`` is Timeloom thread ``t``. A subgraph
  namespace ``ns`` (``checkpoint_ns != ""``, e.g. ``"sub:<task id>"``) is its own
  timeline with the thread id ``"t|ns"`` (see :func:`compose_thread_id`); its
  checkpoints' metadata ``parents`` names the root checkpoint it ran from.
- **Tree.** ``parent_checkpoint_id`` is the parent, always in the same timeline.
- **Values** are the state channels. Bookkeeping channels (``branch:to:*``,
  ``__start__``, ``__pregel_tasks``, v<3 ``start:*``/``branch:*``) are hidden from
  the values; :meth:`Checkpoint.metadata` ``["langgraph.channels"]`` holds them.
- **Writes.** LangGraph stores what each task wrote as rows on the checkpoint the
  task *started from*; the checkpoint those writes produced is a child. So a
  ``loop`` checkpoint's ``writes`` are its parent's rows from graph tasks, grouped
  by node (``{node: {channel: value}}``); an ``update`` checkpoint's ``writes`` are
  its parent's rows from the synthetic ``update_state`` task (LangGraph does not
  record ``as_node``, so the node is shown as ``"update_state"``); an ``input``
  checkpoint's writes are ``{"__input__": <input>}``; a ``fork`` has none.
- **Pending writes** are a checkpoint's own rows: ``__error__`` (kind ``error``,
  parsed from the stored ``repr``), ``__interrupt__`` (``interrupt``, ``when`` is
  ``"during"``), ``__resume__`` (``resume``), and node updates (``update``) unless
  a child checkpoint already committed them.
- **DeltaChannel** (beta) channels between snapshots are not stored in the
  checkpoint; they are absent from ``values`` and listed under
  ``metadata["langgraph.delta_channels_not_shown"]``.
- **Next** is derived without the graph (``metadata["timeloom.next_derived"]``):
  the target of each pending ``Send`` (once per send, first, as LangGraph lists
  them), then each node ``N`` whose ``branch:to:N`` holds a value with a newer
  version than ``N`` has seen. LangGraph's ``get_state`` agrees on ordinary graphs;
  only the graph can know about conditional edges it has not written yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.rows import RawCheckpoint, RawWrite, compose_thread_id
from timeloom.core.checkpoint import Checkpoint, CheckpointMeta, PendingWrite, Source
from timeloom.core.constants import INPUT
from timeloom.core.error_records import error_from_text

NEXT_DERIVED: Final = "timeloom.next_derived"
CHANNELS_KEY: Final = "langgraph.channels"
NS_KEY: Final = "langgraph.checkpoint_ns"
VERSION_KEY: Final = "langgraph.v"
DELTA_KEY: Final = "langgraph.delta_channels_not_shown"
"""Metadata key listing DeltaChannel channels whose value this checkpoint does not
store (they need the graph's reducer to rebuild)."""
ORIGIN_KEY: Final = "timeloom_forked_from"
"""Metadata key of a checkpoint copied into a new thread (a branch):
``{"thread_id", "checkpoint_ns", "checkpoint_id"}`` of the checkpoint it copies."""
UPDATE_NODE: Final = "update_state"
"""The node shown for writes made by ``update_state`` (LangGraph keeps no as_node)."""

ERROR: Final = "__error__"
INTERRUPT: Final = "__interrupt__"
RESUME: Final = "__resume__"
SPECIAL_CHANNELS: Final = frozenset(
    {ERROR, INTERRUPT, RESUME, "__scheduled__", "__no_writes__", "__pregel_tasks"}
)
NULL_TASK_ID: Final = "00000000-0000-0000-0000-000000000000"


# -- channels and next -------------------------------------------------------------------


def is_internal_channel(name: str) -> bool:
    """Whether a channel is LangGraph bookkeeping rather than state."""
    return name.startswith(("__", "branch:", "start:"))


def _trigger_name(channel: str) -> str | None:
    """The node a trigger channel wakes (v4 ``branch:to:N``; v<3 names migrated)."""
    if channel == "__start__":  # the input, waiting for the __start__ task
        return channel
    if channel.startswith("branch:to:"):
        return channel[len("branch:to:") :]
    if channel.startswith("start:"):
        return channel[len("start:") :]
    if channel.startswith("branch:"):
        return channel.rsplit(":", 1)[-1]
    return None


def _version_key(version: Any) -> tuple[int, str]:
    if isinstance(version, int | float):
        return int(version), ""
    text = str(version)
    head = text.split(".", 1)[0]
    return (int(head), text) if head.isdigit() else (0, text)


def derive_next(checkpoint: Mapping[str, Any]) -> tuple[str, ...]:
    """The nodes due to run from a checkpoint, worked out without the graph."""
    versions = checkpoint.get("channel_versions") or {}
    seen = checkpoint.get("versions_seen") or {}
    values = checkpoint.get("channel_values") or {}
    due: list[str] = []
    # Only channels holding a value can trigger: a consumed trigger keeps a (bumped)
    # version but loses its value.
    for channel in values:
        node = _trigger_name(str(channel))
        if node is None or node in due or channel not in versions:
            continue
        node_seen = seen.get(node) or {}
        last = node_seen.get(channel)
        if last is None or _version_key(versions[channel])[0] > _version_key(last)[0]:
            due.append(node)
    sends = list(values.get("__pregel_tasks") or []) + list(
        checkpoint.get("pending_sends") or []
    )
    # As LangGraph lists them: a node once per pending send, first, then the nodes
    # edges started.
    sent = [node for send in sends if (node := send_node(send))]
    return (*sent, *sorted(due))


def send_node(send: Any) -> str | None:
    """The target node of a stored (inert) ``Send``."""
    if isinstance(send, Inert) and send.fields is not None:
        args = send.fields.get("args")
        if isinstance(args, list | tuple) and args:
            return str(args[0])
        node = send.fields.get("node")
        return str(node) if node is not None else None
    return None


def split_values(
    channel_values: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split channel values into ``(state values, bookkeeping channels)``."""
    values: dict[str, Any] = {}
    hidden: dict[str, Any] = {}
    for name, value in channel_values.items():
        (hidden if is_internal_channel(str(name)) else values)[name] = value
    return values, hidden


# -- writes ------------------------------------------------------------------------------


_PULL: Final = "~__pregel_pull, "
_PUSH: Final = "~__pregel_push"


def is_push(write: RawWrite) -> bool:
    """Whether a write came from a push task (a ``Send``), which only its
    checkpoint's pending sends can name (see :func:`node_of`)."""
    return write.task_path.startswith(_PUSH)


def node_of(write: RawWrite, sends: Sequence[Any] = ()) -> str:
    """The node that made a write, from its task path (``~__pregel_pull, node``)."""
    path = write.task_path
    if path.startswith(_PULL) and "," not in path[len(_PULL) :]:
        return path[len(_PULL) :]
    parts = [p.strip() for p in write.task_path.split(",")]
    if parts[0] == "~__pregel_pull" and len(parts) > 1:
        return parts[1]
    if parts[0] == _PUSH and len(parts) > 1:
        try:
            node = send_node(sends[int(parts[1])])
        except (ValueError, IndexError):
            node = None
        return node or "__push__"
    if parts[0] == "~__interrupt__":
        return UPDATE_NODE
    if write.task_id == NULL_TASK_ID:
        return RESUME
    return f"task:{write.task_id[:8]}"


def _is_update_task(write: RawWrite) -> bool:
    return write.task_path.startswith("~__interrupt__")


def _is_node_update(write: RawWrite) -> bool:
    return write.channel not in SPECIAL_CHANNELS and not is_internal_channel(
        write.channel
    )


def _node_updates(writes: Iterable[RawWrite]) -> Iterable[RawWrite]:
    return (w for w in writes if _is_node_update(w))


def step_writes(
    parent_writes: Sequence[RawWrite],
    source: Source,
    sends: Sequence[Any] = (),
    *,
    decode: bool = True,
) -> dict[str, Any]:
    """``{node: {channel: value}}``: what the step producing a checkpoint wrote (a
    node that ran as several tasks, one per ``Send``: the list of their updates,
    as Timeloom's runtime records it).

    Args:
        parent_writes: the rows stored on the checkpoint's parent.
        source: the checkpoint's source (``loop`` takes graph tasks' rows, ``update``
            the ``update_state`` task's rows).
        sends: the parent's pending ``Send``s, to name push tasks.
        decode: decode the values (``False`` leaves ``None``: names only).
    """
    if source not in ("loop", "update"):
        return {}
    wanted = source == "update"
    tasks: dict[tuple[str, str], dict[str, Any]] = {}
    for write in _node_updates(parent_writes):
        if _is_update_task(write) != wanted:
            continue
        key = (node_of(write, sends), write.task_id)
        tasks.setdefault(key, {})[write.channel] = write.value() if decode else None
    by_node: dict[str, list[dict[str, Any]]] = {}
    for (node, _), update in tasks.items():
        by_node.setdefault(node, []).append(update)
    return {
        node: updates[0] if len(updates) == 1 else updates
        for node, updates in by_node.items()
    }


def _interrupts(write: RawWrite) -> list[dict[str, Any]]:
    value = write.value()
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        fields = item.fields if isinstance(item, Inert) and item.fields else {}
        fields = fields or {"value": item}
        interrupt_id = fields.get("id") or fields.get("interrupt_id") or write.task_id
        when = fields.get("when")
        out.append(
            {
                "id": str(interrupt_id),
                "value": fields.get("value"),
                "when": when if when in ("before", "after") else "during",
            }
        )
    return out


def pending_writes(
    own: Sequence[RawWrite],
    sends: Sequence[Any] = (),
    *,
    committed: Iterable[Source] = (),
    include_updates: bool = True,
) -> tuple[PendingWrite, ...]:
    """A checkpoint's own rows as Timeloom pending writes.

    Args:
        own: the rows stored on the checkpoint, in ``(task_path, task_id, idx)``
            order.
        sends: the checkpoint's pending ``Send``s, to name push tasks.
        committed: the sources of its children; node updates a ``loop`` child (or,
            for ``update_state`` rows, an ``update`` child) committed are left out.
        include_updates: ``False`` leaves all node updates out (summaries).
    """
    done = set(committed)
    out: list[PendingWrite] = []
    interrupts: dict[str, list[str]] = {}  # task id -> its interrupt ids, in order
    resumes: list[tuple[RawWrite, Any]] = []
    updates: dict[tuple[str, str], dict[str, Any]] = {}
    for write in own:
        channel = write.channel
        if channel == ERROR:
            error = error_from_text(write.value())
            out.append(PendingWrite(node_of(write, sends), "error", error))
        elif channel == INTERRUPT:
            node = node_of(write, sends)
            for item in _interrupts(write):
                interrupts.setdefault(write.task_id, []).append(item["id"])
                out.append(PendingWrite(node, "interrupt", item))
        elif channel == RESUME:
            resumes.append((write, write.value()))
        elif include_updates:
            source: Source = "update" if _is_update_task(write) else "loop"
            if source not in done and _is_node_update(write):
                key = (node_of(write, sends), write.task_id)
                updates.setdefault(key, {})[channel] = write.value()
    all_ids = [i for ids in interrupts.values() for i in ids]
    per_task = any(w.task_id != NULL_TASK_ID for w, _ in resumes)
    for write, value in resumes:
        node = node_of(write, sends)
        if write.task_id != NULL_TASK_ID:
            ids = interrupts.get(write.task_id, [])
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                rid = ids[i] if i < len(ids) else None
                out.append(PendingWrite(node, "resume", {"id": rid, "value": item}))
        elif isinstance(value, dict) and value and set(value) <= set(all_ids):
            for rid, item in value.items():
                out.append(PendingWrite(node, "resume", {"id": rid, "value": item}))
        elif not per_task:
            rid = all_ids[0] if len(all_ids) == 1 else None
            out.append(PendingWrite(node, "resume", {"id": rid, "value": value}))
    for (node, _), update in updates.items():
        out.append(PendingWrite(node, "update", update))
    return tuple(out)


def _flags(own: Sequence[RawWrite]) -> tuple[bool, bool]:
    special = [w for w in own if w.channel in (ERROR, INTERRUPT, RESUME)]
    if not special:
        return False, False
    pending = pending_writes(special, include_updates=False)
    answered = {w.value.get("id") for w in pending if w.kind == "resume"}
    has_interrupt = any(
        w.kind == "interrupt" and w.value.get("id") not in answered for w in pending
    )
    return any(w.kind == "error" for w in pending), has_interrupt


# -- checkpoints -------------------------------------------------------------------------


def metadata_of(raw: RawCheckpoint) -> dict[str, Any]:
    """The checkpoint's LangGraph metadata plus what Timeloom derived."""
    meta = dict(raw.metadata)
    meta[NEXT_DERIVED] = True
    meta[VERSION_KEY] = raw.checkpoint.get("v")
    if raw.ns:
        meta[NS_KEY] = raw.ns
    if "__error__" in raw.checkpoint:
        meta["langgraph.decode_error"] = raw.checkpoint["__error__"]
    return meta


def _sends(raw: RawCheckpoint | None) -> Sequence[Any]:
    if raw is None:
        return ()
    values = raw.checkpoint.get("channel_values") or {}
    sends = values.get("__pregel_tasks") or raw.checkpoint.get("pending_sends") or ()
    return sends if isinstance(sends, list | tuple) else ()


def origin_of(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(timeline, checkpoint id)`` a branched thread's checkpoint was copied from
    (``metadata[ORIGIN_KEY]``, see :mod:`timeloom.backends.langgraph.copy`)."""
    origin = metadata.get(ORIGIN_KEY)
    if not isinstance(origin, Mapping):
        return None
    thread_id, ns = origin.get("thread_id"), origin.get("checkpoint_ns") or ""
    checkpoint_id = origin.get("checkpoint_id")
    if not isinstance(thread_id, str) or not isinstance(checkpoint_id, str):
        return None
    return compose_thread_id(thread_id, str(ns)), checkpoint_id


def parent_of(raw: RawCheckpoint) -> tuple[str | None, str | None]:
    """``(parent id, parent timeline)``: the row's parent in its own timeline, or, for
    the copy a branch starts at, the checkpoint it was copied from (a fork)."""
    origin = origin_of(raw.metadata)
    if origin is not None:
        return raw.parent_id or origin[1], origin[0]
    return raw.parent_id, raw.timeline if raw.parent_id else None


def to_meta(
    raw: RawCheckpoint,
    parent_writes: Sequence[RawWrite],
    own_writes: Sequence[RawWrite],
    parent: RawCheckpoint | None = None,
) -> CheckpointMeta:
    """A checkpoint summary (no values) from its row and the writes around it."""
    if raw.source == "input":
        nodes: tuple[str, ...] = (INPUT,)
    else:
        nodes = tuple(
            step_writes(parent_writes, raw.source, _sends(parent), decode=False)
        )
    has_error, has_interrupt = _flags(own_writes)
    parent_id, parent_thread_id = parent_of(raw)
    return CheckpointMeta(
        id=raw.id,
        thread_id=raw.timeline,
        parent_id=parent_id,
        parent_thread_id=parent_thread_id,
        step=raw.step,
        source=raw.source,
        created_at=raw.created_at,
        nodes=nodes,
        next=derive_next(raw.checkpoint),
        metadata=metadata_of(raw),
        has_error=has_error,
        has_interrupt=has_interrupt,
        size=raw.size,
    )


def to_checkpoint(
    raw: RawCheckpoint,
    parent_writes: Sequence[RawWrite],
    own_writes: Sequence[RawWrite],
    children: Iterable[Source] = (),
    parent: RawCheckpoint | None = None,
) -> Checkpoint:
    """A full checkpoint from its (fully decoded) row and the writes around it.

    Args:
        raw: the row, decoded with its state values.
        parent_writes: the rows stored on its parent (they produced it).
        own_writes: the rows stored on it (pending writes).
        children: the sources of its children (to tell committed updates).
        parent: the parent row (for the names of push tasks), if at hand.
    """
    channel_values = raw.checkpoint.get("channel_values") or {}
    values, hidden = split_values(channel_values)
    if raw.source == "input":
        writes: dict[str, Any] = {INPUT: hidden.get("__start__")}
    else:
        writes = step_writes(parent_writes, raw.source, _sends(parent))
    metadata = metadata_of(raw)
    metadata[CHANNELS_KEY] = hidden
    # DeltaChannel (beta) stores a full value only every N updates; between those
    # the channel is absent and rebuilding it needs the graph's reducer.
    deltas = raw.metadata.get("counters_since_delta_snapshot")
    if isinstance(deltas, dict):
        missing = sorted(str(c) for c in deltas if c not in channel_values)
        if missing:
            metadata[DELTA_KEY] = missing
    parent_id, parent_thread_id = parent_of(raw)
    return Checkpoint(
        id=raw.id,
        thread_id=raw.timeline,
        parent_id=parent_id,
        parent_thread_id=parent_thread_id,
        step=raw.step,
        source=raw.source,
        created_at=raw.created_at,
        values=values,
        next=derive_next(raw.checkpoint),
        writes=writes,
        metadata=metadata,
        pending_writes=pending_writes(own_writes, _sends(raw), committed=children),
    )
