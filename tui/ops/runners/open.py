"""Pick the runner for an open checkpointer (what ``timeloom open`` does)."""

from __future__ import annotations

import os

from timeloom.backends.langgraph import LangGraphReader
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.ops.runners.base import Runner
from timeloom.tui.ops.runners.langgraph import (
    STRICT_ENV,
    LangGraphRunner,
    load_langgraph,
)
from timeloom.tui.ops.runners.native import TimeloomRunner


def open_runner(
    checkpointer: BaseCheckpointer, graph_ref: str | None, *, read_only: bool
) -> Runner:
    """The runner of ``checkpointer``, with the graph ``graph_ref`` names.

    A LangGraph database gets a :class:`LangGraphRunner`: with ``--graph`` it writes
    through the user's graph (LangGraph's strict msgpack mode is turned on first,
    unless the environment sets it); without, or with ``-r``, nothing is written and
    the graph is not even imported. Any other database gets a
    :class:`TimeloomRunner` with Timeloom's graph.

    Raises:
        GraphLoadError: the graph cannot be loaded.
    """
    if isinstance(checkpointer, LangGraphReader):
        graph = None
        if graph_ref and not read_only:
            os.environ.setdefault(STRICT_ENV, "true")
            graph = load_langgraph(graph_ref)
        return LangGraphRunner(checkpointer, graph, read_only=read_only)
    if graph_ref:
        from timeloom.tui.ops.graphref import load_graph

        return TimeloomRunner(checkpointer, load_graph(graph_ref, checkpointer))
    return TimeloomRunner(checkpointer)
