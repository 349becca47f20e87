"""Checkpoint namespaces, as LangGraph writes them, and the timelines they name.

A subgraph's task writes its checkpoints under the namespace ``"node:<task id>"``
(nested: ``"outer:<id>|inner:<id>"``); Timeloom stores the namespace ``ns`` of
thread ``t`` as the timeline (thread id) ``"t|ns"``, as the read-only LangGraph
reader shows LangGraph's. A user's thread id containing ``"|"`` is reserved.
"""

from __future__ import annotations

import uuid

NS_SEP = "|"
"""Joins the segments of a namespace, and a thread id to its subgraph namespace."""
NS_END = ":"
"""Separates a namespace segment's node from its task id."""
PARENTS = "parents"
"""A subgraph checkpoint's metadata key: enclosing namespace -> checkpoint id."""
SUBGRAPHS = "timeloom.subgraphs"
"""A checkpoint's metadata key, added when it is read: the timelines of the
subgraphs that ran from it (as the LangGraph reader names them)."""

_TASK_NS = uuid.UUID("1f7c3a52-6d0e-4b8e-9a61-5c2f0d4e8b37")


def task_id(checkpoint_id: str, node: str) -> str:
    """The id of ``node``'s task from ``checkpoint_id`` (the same on every run)."""
    return str(uuid.uuid5(_TASK_NS, f"{checkpoint_id}:{node}"))


def recast(ns: str) -> str:
    """``ns`` without its task ids (``"a:1|b:2|1"`` -> ``"a|b|1"``), as LangGraph
    names the history of a subgraph compiled with ``checkpointer=True``."""
    return NS_SEP.join(part.split(NS_END, 1)[0] for part in ns.split(NS_SEP))


def timeline(thread_id: str, ns: str) -> str:
    """The thread id of the timeline of ``thread_id``'s namespace ``ns``."""
    return f"{thread_id}{NS_SEP}{ns}" if ns else thread_id


def split_timeline(thread_id: str) -> tuple[str, str]:
    """``(thread id, namespace)`` of a timeline (a user's thread id has no ``"|"``)."""
    root, _, ns = thread_id.partition(NS_SEP)
    return root, ns
