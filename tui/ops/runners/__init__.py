"""Runners: who carries out the write actions (edit, branch, resume) of the TUI and CLI.

A view never knows which runtime is behind it: it asks a :class:`Runner`. Two kinds:

- :class:`~timeloom.tui.ops.runners.native.TimeloomRunner`: Timeloom's own runtime and
  checkpointers (the graph from ``--graph`` is a Timeloom graph, or none).
- :class:`~timeloom.tui.ops.runners.langgraph.LangGraphRunner`: the user's own LangGraph
  graph and LangGraph's own saver on a LangGraph database; without a graph it only
  says how to enable writing.

Either way, what is shown is read by the open checkpointer (for LangGraph databases,
Timeloom's safe reader), never by the runtime that writes.
"""

from __future__ import annotations

from timeloom.tui.ops.runners.base import BranchOptions, Runner
from timeloom.tui.ops.runners.open import open_runner

__all__ = ["BranchOptions", "Runner", "open_runner"]
