"""Load the graph named by ``--graph package.module:attribute``.

The attribute may be an uncompiled :class:`~timeloom.core.graph.StateGraph`, a
:class:`~timeloom.core.runtime.CompiledGraph` (compiled with or without a
checkpointer), or a function taking no arguments that returns either. Whatever it
is, the result is a compiled graph bound to the checkpointer the TUI opened, keeping
the graph's own interrupts and name.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import GraphValidationError, TimeloomError
from timeloom.core.graph import StateGraph
from timeloom.core.runtime import CompiledGraph


class GraphLoadError(TimeloomError):
    """``--graph`` names something that cannot be loaded as a graph."""

    default_title = "Cannot load the graph"


def load_graph(ref: str, checkpointer: BaseCheckpointer) -> CompiledGraph:
    """Import ``package.module:attribute`` and bind the graph to ``checkpointer``.

    The current directory is importable, as with ``python -m``, so a project's own
    ``agent.py`` loads as ``agent:graph``.

    Args:
        ref: ``package.module:attribute`` (the attribute may be dotted).
        checkpointer: where the graph reads and writes checkpoints.

    Returns:
        A compiled graph using ``checkpointer``.

    Raises:
        GraphLoadError: a malformed reference, a module that cannot be imported (or
            that raised while importing), a missing attribute, or an attribute that
            is not a graph.
    """
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise GraphLoadError(
            f"--graph {ref!r} must look like package.module:attribute "
            f"(e.g. timeloom.tui.demo.agent:graph)"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise GraphLoadError(
                f"No module named {exc.name!r} (from --graph {ref!r}); run timeloom "
                f"from your project's directory or install the package"
            ) from exc
        raise GraphLoadError(
            f"Importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    except Exception as exc:  # the application's module raised while importing
        raise GraphLoadError(
            f"Importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            found = _graph_like(module)
            hint = f"; graphs in it: {', '.join(found)}" if found else ""
            raise GraphLoadError(
                f"{module_name!r} has no attribute {attribute!r}{hint}"
            ) from exc
    if callable(target) and not isinstance(target, StateGraph | CompiledGraph | type):
        try:
            target = target()
        except Exception as exc:  # the factory raised
            raise GraphLoadError(
                f"Calling {ref} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return bind_graph(target, checkpointer, ref)


def bind_graph(
    graph: Any, checkpointer: BaseCheckpointer, ref: str = "the graph"
) -> CompiledGraph:
    """Return ``graph`` compiled with ``checkpointer``.

    Args:
        graph: a ``StateGraph`` or a ``CompiledGraph``.
        checkpointer: the checkpointer to bind.
        ref: how to name the graph in an error.

    Raises:
        GraphLoadError: ``graph`` is neither, or does not compile.
    """
    try:
        if isinstance(graph, StateGraph):
            return graph.compile(checkpointer=checkpointer)
        if isinstance(graph, CompiledGraph):
            if graph.checkpointer is checkpointer:
                return graph
            return graph.builder.compile(
                checkpointer=checkpointer,
                interrupt_before=sorted(graph.interrupt_before),
                interrupt_after=sorted(graph.interrupt_after),
                name=graph.name,
            )
    except GraphValidationError as exc:
        raise GraphLoadError(f"{ref} does not compile: {exc.msg}") from exc
    raise GraphLoadError(
        f"{ref} is a {type(graph).__qualname__}, not a graph: point --graph at a "
        f"StateGraph or at the result of graph.compile()"
    )


def _graph_like(module: Any) -> list[str]:
    return sorted(
        f"{module.__name__}:{name}"
        for name, value in vars(module).items()
        if isinstance(value, StateGraph | CompiledGraph)
    )
