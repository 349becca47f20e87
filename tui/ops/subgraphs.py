"""Subgraph timelines: how their ids read, and which checkpoint ran each.

A subgraph run by thread ``t`` checkpoints in its own timeline, ``"t|ns"``, where
``ns`` is LangGraph's checkpoint namespace (``"node:task"`` segments joined by
``|``: ``"t|outer:1a2b|inner:3c4d"`` is a subgraph inside a subgraph). Timeloom's
runtime and the LangGraph reader follow the same conventions (their constants live
in :mod:`timeloom.core.namespaces`):

- listing threads gives root graphs only; a search for ``"t|"`` reaches ``t``'s
  subgraph timelines, and the checkpointer's ``subgraphs(thread_id)`` lists them;
- a subgraph's checkpoints carry LangGraph's ``metadata["parents"]``: per ancestor
  namespace (``""`` for the root graph), the checkpoint it ran from;
- a checkpoint that ran subgraphs names their timelines in
  ``metadata["timeloom.subgraphs"]`` (on the full checkpoint, not the summary).

Textual-free: the app's workers and its tests use it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from timeloom.core.checkpoint import ThreadInfo
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.namespaces import NS_END, NS_SEP, PARENTS, SUBGRAPHS, split_timeline

BREADCRUMB_SEP: Final = " › "
"""Joins a timeline's levels as the app shows them (:func:`breadcrumb`)."""

SHARED_SCAN: Final = 1_000
"""Checkpoints of a shared subgraph history (``checkpointer=True``) read, newest
first, to mark the parent checkpoints that ran it: older runs than these are
marked only once selected (from their own metadata)."""

TASK_SHOWN: Final = 8
"""Characters of a task id shown in a subgraph's short name (enough to tell two
runs of one node apart)."""


def is_subgraph(timeline: str) -> bool:
    """Whether ``timeline`` is a subgraph's (``"t|ns"``), not a root graph's."""
    return NS_SEP in timeline


def root_of(timeline: str) -> str:
    """The thread a timeline belongs to: ``"t|a:1|b:2"`` -> ``"t"``."""
    return split_timeline(timeline)[0]


def namespace(timeline: str) -> str:
    """The checkpoint namespace of a timeline (``""`` for a root graph)."""
    return split_timeline(timeline)[1]


def levels(timeline: str) -> list[str]:
    """The subgraph levels of a timeline, outermost first: its namespace's
    segments, a numeric segment kept with the one before it (``"a:1|1"`` is the
    second graph task ``a:1`` ran, on the same level, as LangGraph names it)."""
    out: list[str] = []
    for segment in namespace(timeline).split(NS_SEP) if is_subgraph(timeline) else ():
        if segment.isdigit() and out:
            out[-1] += NS_SEP + segment
        else:
            out.append(segment)
    return out


def parent_of(timeline: str) -> str | None:
    """The timeline that ran this subgraph (``None`` for a root graph)."""
    if not is_subgraph(timeline):
        return None
    return NS_SEP.join([root_of(timeline), *levels(timeline)[:-1]])


def level_name(level: str) -> str:
    """A level as shown: its node and a short task id (``"sub:2744ee2a-08d0-..."``
    -> ``"sub:2744ee2a"``; a second call keeps its counter, ``"sub:2744ee2a|1"``)."""
    segment, sep, call = level.partition(NS_SEP)
    node, colon, task = segment.partition(NS_END)
    return f"{node}{colon}{task[:TASK_SHOWN]}{sep}{call}"


def short_name(timeline: str) -> str:
    """The innermost level of a subgraph timeline, shortened (the timeline itself
    for a root graph)."""
    found = levels(timeline)
    return level_name(found[-1]) if found else timeline


def subgraph_names(timelines: Iterable[str]) -> list[str]:
    """The nodes that ran these subgraphs, each once, with a count when it ran
    several (``["sub", "worker ×3"]``): what a checkpoint's row shows."""
    counts = Counter(levels(t)[-1].partition(NS_END)[0] for t in timelines)
    return [f"{node} ×{n}" if n > 1 else node for node, n in counts.items()]


def path_name(timeline: str, sep: str = BREADCRUMB_SEP) -> str:
    """A subgraph timeline without its thread: ``"outer:1a2b › inner:3c4d"``
    (what the threads pane shows once filtered to one thread's subgraphs)."""
    return sep.join(level_name(level) for level in levels(timeline))


def breadcrumb(timeline: str, sep: str = BREADCRUMB_SEP) -> str:
    """A timeline as its path from the thread: ``"t › outer:1a2b › inner:3c4d"``.

    Not made safe here: callers show it through :func:`timeloom.tui.ops.safetext.safe`
    or a label, like any other text from a database.
    """
    path = path_name(timeline, sep)
    return f"{root_of(timeline)}{sep}{path}" if path else timeline


def as_typed(text: str) -> str:
    """A timeline as a user may type it, copied from where the app shows it
    (``"t › sub:2744ee2a"``), with its levels joined by ``|`` again."""
    return text.replace(BREADCRUMB_SEP, NS_SEP)


def typed_as(typed: str, timeline: str) -> bool:
    """Whether a user who typed ``typed`` (see :func:`as_typed`) may mean the
    subgraph timeline ``timeline``: the same thread and levels, each level typed
    whole, as its node alone, or as its node and the start of its task id
    (``"t|sub"``, ``"t|sub:2744"`` and ``"t|sub|deep"`` all name
    ``"t|sub:2744ee2a-...|deep:b850..."``)."""
    if root_of(typed) != root_of(timeline):
        return False
    wanted, found = levels(typed), levels(timeline)
    return len(wanted) == len(found) and all(
        _level_typed_as(w, f) for w, f in zip(wanted, found, strict=True)
    )


def _level_typed_as(typed: str, level: str) -> bool:
    typed_segment, _, typed_call = typed.partition(NS_SEP)
    segment, _, call = level.partition(NS_SEP)
    if typed_call != call:  # a second graph of one task ("|1") is another level
        return False
    node = segment.partition(NS_END)[0]
    return typed_segment in (segment, node) or (
        NS_END in typed_segment and segment.startswith(typed_segment)
    )


def ran_from(info: ThreadInfo) -> str | None:
    """The checkpoint of the parent timeline that ran the subgraph ``info``, from
    its head's ``metadata["parents"]`` (``None`` when not recorded; for a shared
    history, the latest run's)."""
    return origin_in(info.thread_id, info.metadata)


def origin_in(timeline: str, metadata: Mapping[str, Any]) -> str | None:
    """The checkpoint of the parent timeline that ran a checkpoint of the
    subgraph ``timeline``, from that checkpoint's ``metadata["parents"]``
    (``None`` when not recorded)."""
    parent = parent_of(timeline)
    parents = metadata.get(PARENTS)
    if parent is None or not isinstance(parents, Mapping):
        return None
    found = parents.get(namespace(parent))
    return found if isinstance(found, str) else None


def named_in(metadata: Mapping[str, Any], timeline: str) -> list[str]:
    """The subgraph timelines directly below ``timeline`` that a checkpoint's
    metadata says it ran (``metadata["timeloom.subgraphs"]``)."""
    named = metadata.get(SUBGRAPHS)
    if not isinstance(named, Sequence) or isinstance(named, str):
        return []
    return [t for t in named if isinstance(t, str) and parent_of(t) == timeline]


async def subgraphs_by_checkpoint(
    checkpointer: BaseCheckpointer, timeline: str
) -> dict[str, list[ThreadInfo]]:
    """The subgraph timelines directly below ``timeline``, by the checkpoint of
    ``timeline`` that ran them, oldest run first.

    One listing of the thread's subgraph timelines, and one bounded read of each
    shared history (:func:`is_shared`), which many parent checkpoints ran; a
    subgraph whose checkpoint of origin is not recorded (no
    ``metadata["parents"]``) is left out (the full checkpoint's
    ``metadata["timeloom.subgraphs"]`` still names it).
    """
    found = await checkpointer.subgraphs(root_of(timeline))
    out: dict[str, list[ThreadInfo]] = {}
    for info in sorted(found, key=lambda i: i.created_at):
        if parent_of(info.thread_id) != timeline:
            continue
        if is_shared(info.thread_id):
            ran = await _shared_runs(checkpointer, info.thread_id)
        else:
            ran = [ran_from(info)]
        for checkpoint_id in ran:
            if checkpoint_id is not None:
                out.setdefault(checkpoint_id, []).append(info)
    return out


def is_shared(timeline: str) -> bool:
    """Whether a subgraph timeline is one history shared by every run of its node
    (a subgraph compiled with ``checkpointer=True``: its level has no task id,
    ``"t|sub"``), not one run's."""
    found = levels(timeline)
    return bool(found) and NS_END not in found[-1].partition(NS_SEP)[0]


async def _shared_runs(
    checkpointer: BaseCheckpointer, timeline: str
) -> list[str | None]:
    """The checkpoints of the parent timeline that ran a shared subgraph
    history, newest first: from its latest :data:`SHARED_SCAN` checkpoints'
    ``metadata["parents"]`` (its head names only the latest run)."""
    ran: list[str | None] = []
    async for meta in checkpointer.summaries(timeline, limit=SHARED_SCAN):
        found = origin_in(timeline, meta.metadata)
        if found is not None and found not in ran:
            ran.append(found)
    return ran


async def run_head(
    checkpointer: BaseCheckpointer, timeline: str, ran_by: str
) -> str | None:
    """The newest checkpoint of the subgraph ``timeline`` that the parent's
    checkpoint ``ran_by`` ran: in a shared history (:func:`is_shared`) its run's
    last checkpoint, found among the latest :data:`SHARED_SCAN` (``None``: not
    there; one run's timeline is its own head)."""
    async for meta in checkpointer.summaries(timeline, limit=SHARED_SCAN):
        if origin_in(timeline, meta.metadata) == ran_by:
            return meta.id
    return None
