"""Reserved node names shared by the graph builder and the runtime."""

from __future__ import annotations

from typing import Final

START: Final = "__start__"
"""The virtual node every run starts from (``add_edge(START, "first")``)."""

END: Final = "__end__"
"""The virtual node that ends a run (a router may return it)."""

INPUT: Final = "__input__"
"""The pseudo-node recorded as the writer of a run's input (step -1)."""

COPY: Final = "__copy__"
"""``update_state(config, None, as_node=COPY)`` copies a checkpoint (a ``fork``)."""

WAITING: Final = "__waiting__"
"""The checkpoint metadata key holding, for each waiting edge
(``add_edge([a, b], c)``) some but not all of whose starts have finished, the
starts that have (LangGraph keeps this in a hidden channel)."""

SENDS: Final = "__sends__"
"""The checkpoint metadata key holding the ``Send`` tasks due from it, as
``[node, arg]`` pairs (LangGraph keeps them in a hidden channel)."""

NODE_FINISHED: Final = "__pregel_node_finished"
"""LangGraph's ``configurable`` key for a callable told the name of each node
that succeeds, in subgraphs too (not a reused update, an interrupt or an error).
Timeloom calls it when the node's step has gathered its tasks, in the step's
order (LangGraph: as each task finishes)."""
