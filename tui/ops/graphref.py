"""Load the graph named by ``--graph package.module:attribute`` (or ``file.py:attr``).

The attribute may be an uncompiled :class:`~timeloom.core.graph.StateGraph`, a
:class:`~timeloom.core.runtime.CompiledGraph` (compiled with or without a
checkpointer), or a function taking no arguments that returns either. Whatever it
is, the result is a compiled graph bound to the checkpointer the TUI opened, keeping
the graph's own interrupts and name.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
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
        ref: ``package.module:attribute`` or ``path/to/file.py:attribute`` (the
            attribute may be dotted).
        checkpointer: where the graph reads and writes checkpoints.

    Returns:
        A compiled graph using ``checkpointer``.

    Raises:
        GraphLoadError: a malformed reference, a module that cannot be imported (or
            that raised while importing), a missing attribute, or an attribute that
            is not a graph.
    """
    target = import_target(
        ref,
        lambda value: isinstance(value, StateGraph | CompiledGraph),
        example="timeloom.tui.demo.agent:graph",
    )
    return bind_graph(target, checkpointer, ref)


def import_target(
    ref: str, is_graph: Callable[[Any], bool], *, example: str = "my_agent:graph"
) -> Any:
    """The object ``ref`` names; a function that is not a graph is called (a
    factory taking no arguments).

    Args:
        ref: ``package.module:attribute`` or ``path/to/file.py:attribute``.
        is_graph: whether a value is a graph already (then it is not called).
        example: a reference shown in the error for a malformed one.

    Raises:
        GraphLoadError: a malformed reference, a module that cannot be imported (or
            that raised while importing), a missing attribute, or a factory that
            raised.
    """
    module_name, _, attribute = ref.rpartition(":")
    if not module_name or not attribute:
        raise GraphLoadError(
            f"--graph {ref!r} must look like package.module:attribute or "
            f"path/to/file.py:attribute (e.g. {example})"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = _import(module_name, ref)
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            found = sorted(
                f"{module_name}:{name}"
                for name, value in vars(module).items()
                if is_graph(value)
            )
            hint = f"; graphs in it: {', '.join(found)}" if found else ""
            raise GraphLoadError(
                f"{module_name!r} has no attribute {attribute!r}{hint}"
            ) from exc
    if callable(target) and not is_graph(target) and not isinstance(target, type):
        try:
            target = target()
        except Exception as exc:  # the factory raised
            raise GraphLoadError(
                f"Calling {ref} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return target


def _import(module_name: str, ref: str) -> ModuleType:
    """Import a dotted module name, or a ``.py`` file by its path."""
    try:
        if module_name.endswith(".py"):
            return _import_file(Path(module_name), ref)
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise GraphLoadError(
                f"No module named {exc.name!r} (from --graph {ref!r}); run timeloom "
                f"from your project's directory or install the package"
            ) from exc
        raise GraphLoadError(
            f"Importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    except GraphLoadError:
        raise
    except Exception as exc:  # the application's module raised while importing
        raise GraphLoadError(
            f"Importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _import_file(path: Path, ref: str) -> ModuleType:
    if not path.is_file():
        raise GraphLoadError(f"There is no file {path} (from --graph {ref!r})")
    # Its directory is importable, so the file's own imports of its neighbours work.
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GraphLoadError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


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
