"""Search: the checkpoints where a query holds, in one thread or in every thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.investigate.query import PlainCache, Query, document, truthy
from timeloom.tui.investigate.timeline import ThreadStates
from timeloom.tui.ops.refs import NotFound

_THREAD_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class Match:
    """A checkpoint where the query holds, and what the query returned there."""

    meta: CheckpointMeta
    result: Any


async def find_in_thread(
    states: ThreadStates,
    query: Query,
    metas: Sequence[CheckpointMeta] | None = None,
) -> AsyncIterator[Match]:
    """Yield the checkpoints of a thread (oldest first) where ``query`` holds.

    Args:
        states: the thread.
        query: the query.
        metas: only these checkpoints (default: all of the thread's).

    """
    plain = PlainCache()
    async for meta, values in states.scan(metas if metas is not None else states.metas):
        doc = document(meta, None)
        doc["values"] = plain.values(values, states.tokens(meta.id))
        result = query.result(doc)
        if truthy(result):
            yield Match(meta, result)


async def find_everywhere(
    checkpointer: BaseCheckpointer,
    query: Query,
    *,
    thread_prefix: str | None = None,
) -> AsyncIterator[Match]:
    """Yield matching checkpoints of every thread, most recently updated thread
    first, oldest checkpoint first within a thread; one thread in memory at a time.

    """
    offset = 0
    while True:
        infos = await checkpointer.threads(
            search=thread_prefix, limit=_THREAD_PAGE, offset=offset
        )
        for info in infos:
            try:
                states = await ThreadStates.load(checkpointer, info.thread_id)
            except NotFound:  # deleted since the page was listed
                continue
            async for match in find_in_thread(states, query):
                yield match
        if len(infos) < _THREAD_PAGE:
            return
        offset += len(infos)
