"""Branch a LangGraph thread into a new thread through LangGraph's own saver.

LangGraph's open-source savers have no ``copy_thread``. :func:`acopy_thread` (and its
sync twin :func:`copy_thread`) copies a checkpoint, optionally with its ancestry,
into a new thread id using only the saver's public ``get_tuple``/``list``/``put``/
``put_writes``, so what is written is what LangGraph itself writes, and LangGraph
resumes the copy as it would the original.

The copies keep their checkpoint ids: LangGraph derives task ids (and so which pending
writes belong to which task: a failed node's siblings, an interrupt's answer) from
the checkpoint id, so a copy with a new id would run differently. Ids are unique per
``(thread_id, checkpoint_ns)`` in LangGraph's schema, so the copy does not clash.

Only a step that has not finished has pending writes: the branch point's writes
(a failed node's siblings, an interrupt and its answer) are copied when no
checkpoint of its timeline has it as parent. Those of a step that ran are its
results; copied, they would make the copy skip the step (reusing an old answer
instead of asking again), so the copy runs it again, as LangGraph's time travel
from there does.

The copy of the branch point carries ``metadata["timeloom_forked_from"] =
{"thread_id", "checkpoint_ns", "checkpoint_id"}`` (a plain key: LangGraph's metadata
filters address top-level keys), so the user's app and Timeloom can see where the
new thread came from. Savers are duck-typed: nothing here imports LangGraph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import aclosing, closing
from dataclasses import dataclass
from typing import Any

from timeloom.backends.langgraph.mapping import ORIGIN_KEY
from timeloom.core.errors import CheckpointNotFound, ConflictError

__all__ = ["ORIGIN_KEY", "acopy_thread", "copy_thread"]


@dataclass(frozen=True, slots=True)
class _Put:
    """One checkpoint to write into the new thread, with its pending writes."""

    config: dict[str, Any]
    """The config ``put`` takes: the new thread and the copy's parent id."""
    checkpoint: Mapping[str, Any]
    metadata: dict[str, Any]
    new_versions: dict[str, Any]
    writes: list[tuple[str, list[tuple[str, Any]], str]]
    """``(task_id, [(channel, value)...], task_path)`` per task, in stored order."""


def _configurable(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config.get("configurable") or {}


def _target(config: Mapping[str, Any], new_thread_id: str) -> dict[str, Any]:
    ns = _configurable(config).get("checkpoint_ns", "")
    return {"configurable": {"thread_id": new_thread_id, "checkpoint_ns": ns}}


def _chain(tip: Any, older: Sequence[Any], ancestry: bool) -> list[Any]:
    """The tuples to copy, oldest first: ``tip`` alone, or it and its ancestors."""
    if not ancestry:
        return [tip]
    by_id = {_configurable(t.config)["checkpoint_id"]: t for t in older}
    chain = [tip]
    while chain[-1].parent_config is not None:
        parent = by_id.get(_configurable(chain[-1].parent_config).get("checkpoint_id"))
        if parent is None:  # pruned history: the copy starts at what is left
            break
        chain.append(parent)
    chain.reverse()
    return chain


def _child_of(tup: Any, tip: Any) -> bool | None:
    """Listing ``tip``'s timeline newest first, whether ``tup`` says its step
    ran: True for a child of ``tip``, False once at ``tip`` (ids grow with time:
    no child is older), None to read on."""
    tip_id = _configurable(tip.config)["checkpoint_id"]
    if _configurable(tup.config)["checkpoint_id"] <= tip_id:
        return False
    parent = tup.parent_config
    if parent is not None and _configurable(parent).get("checkpoint_id") == tip_id:
        return True
    return None


def _plan(
    chain: Sequence[Any],
    new_thread_id: str,
    task_paths: Mapping[str, str],
    step_ran: bool,
) -> list[_Put]:
    """What to ``put`` (and ``put_writes``) for each tuple of ``chain``; the
    tip's writes only if its step has not run (``step_ran``)."""
    tip = chain[-1]
    origin = _configurable(tip.config)
    puts: list[_Put] = []
    parent_id: str | None = None
    seen_versions: Mapping[str, Any] = {}
    for tup in chain:
        config = _target(tip.config, new_thread_id)
        if parent_id is not None:
            config["configurable"]["checkpoint_id"] = parent_id
        versions = dict(tup.checkpoint.get("channel_versions") or {})
        # Savers that store channel values by version (Postgres) store only the
        # versions that are new to the thread.
        new_versions = {k: v for k, v in versions.items() if seen_versions.get(k) != v}
        metadata = dict(tup.metadata or {})
        metadata.pop(ORIGIN_KEY, None)
        if tup is tip:
            metadata[ORIGIN_KEY] = {
                "thread_id": origin["thread_id"],
                "checkpoint_ns": origin.get("checkpoint_ns", ""),
                "checkpoint_id": origin["checkpoint_id"],
            }
        by_task: dict[str, list[tuple[str, Any]]] = {}
        pending = () if tup is tip and step_ran else tup.pending_writes or ()
        for task_id, channel, value in pending:
            by_task.setdefault(task_id, []).append((channel, value))
        writes = [(t, w, task_paths.get(t, "")) for t, w in by_task.items()]
        puts.append(_Put(config, tup.checkpoint, metadata, new_versions, writes))
        parent_id = _configurable(tup.config)["checkpoint_id"]
        seen_versions = versions
    return puts


def _check(tip: Any, existing: Any, config: Mapping[str, Any], new: str) -> None:
    if tip is None:
        where = _configurable(config)
        raise CheckpointNotFound(
            f"No checkpoint {where.get('checkpoint_id') or '(head)'} in thread "
            f"{where.get('thread_id')!r}",
            title="Checkpoint not found",
        )
    if existing is not None:
        raise ConflictError(
            f"A thread named {new!r} already exists; pick another name.",
            title="Thread exists",
        )


def _result(puts: Sequence[_Put], written: Mapping[str, Any]) -> dict[str, Any]:
    configurable = dict(_configurable(written))
    configurable.setdefault(
        "checkpoint_ns", puts[-1].config["configurable"]["checkpoint_ns"]
    )
    return {"configurable": configurable}


async def acopy_thread(
    saver: Any,
    config: Mapping[str, Any],
    new_thread_id: str,
    *,
    ancestry: bool = False,
    task_paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Copy a checkpoint (and, with ``ancestry``, its ancestors) into a new thread.

    Args:
        saver: a LangGraph async-capable saver (``AsyncSqliteSaver``,
            ``AsyncPostgresSaver``, ``InMemorySaver``...).
        config: ``{"configurable": {"thread_id", "checkpoint_ns"?, "checkpoint_id"?}}``;
            without ``checkpoint_id``, the thread's head.
        new_thread_id: the thread to create; it must not exist yet.
        ancestry: also copy every ancestor (the new thread's history then starts
            where the original's does); otherwise the new thread starts at the copy.
        task_paths: task id -> LangGraph's ``task_path`` of the pending writes (only
            their order and the names Timeloom shows depend on it).

    Returns:
        The config of the copy of the checkpoint (``invoke(None, config)`` or
        ``Command(resume=...)`` continues it).

    Raises:
        CheckpointNotFound: no such checkpoint.
        ConflictError: ``new_thread_id`` already has checkpoints in that namespace.
    """
    tip = await saver.aget_tuple(config)
    existing = await saver.aget_tuple(_target(config, new_thread_id))
    _check(tip, existing, config, new_thread_id)
    timeline = _target(tip.config, _thread(tip))
    older = []
    if ancestry and tip.parent_config is not None:
        older = [t async for t in saver.alist(timeline)]
    ran = False
    # Closed at once: a saver's listing holds its lock until it is.
    async with aclosing(saver.alist(timeline)) as listing:
        async for tup in listing:
            if (found := _child_of(tup, tip)) is not None:
                ran = found
                break
    puts = _plan(_chain(tip, older, ancestry), new_thread_id, task_paths or {}, ran)
    written: Mapping[str, Any] = {}
    for put in puts:
        written = await saver.aput(
            put.config, dict(put.checkpoint), put.metadata, put.new_versions
        )
        for task_id, writes, path in put.writes:
            await saver.aput_writes(written, writes, task_id, path)
    return _result(puts, written)


def copy_thread(
    saver: Any,
    config: Mapping[str, Any],
    new_thread_id: str,
    *,
    ancestry: bool = False,
    task_paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The sync twin of :func:`acopy_thread` (``SqliteSaver``, ``PostgresSaver``)."""
    tip = saver.get_tuple(config)
    existing = saver.get_tuple(_target(config, new_thread_id))
    _check(tip, existing, config, new_thread_id)
    timeline = _target(tip.config, _thread(tip))
    older = []
    if ancestry and tip.parent_config is not None:
        older = list(saver.list(timeline))
    ran = False
    with closing(saver.list(timeline)) as listing:
        for tup in listing:
            if (found := _child_of(tup, tip)) is not None:
                ran = found
                break
    puts = _plan(_chain(tip, older, ancestry), new_thread_id, task_paths or {}, ran)
    written: Mapping[str, Any] = {}
    for put in puts:
        written = saver.put(
            put.config, dict(put.checkpoint), put.metadata, put.new_versions
        )
        for task_id, writes, path in put.writes:
            saver.put_writes(written, writes, task_id, path)
    return _result(puts, written)


def _thread(tup: Any) -> str:
    thread_id: str = _configurable(tup.config)["thread_id"]
    return thread_id
