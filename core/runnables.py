"""LangChain runnables as nodes: a prompt template, a ``RunnableLambda``, a tool,
a chain, anything with LangChain's ``invoke``/``ainvoke``, added with
``add_node(name, runnable)`` as LangGraph allows.

Nothing here imports LangChain: a runnable is recognised by its methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol


class RunnableLike(Protocol):
    """What a LangChain runnable offers a graph."""

    def invoke(self, input: Any, config: Any = None, /) -> Any: ...

    async def ainvoke(self, input: Any, config: Any = None, /) -> Any: ...


def is_runnable(action: object) -> bool:
    """Whether ``action`` is a LangChain runnable (it has ``invoke`` and
    ``ainvoke``), which a node calls rather than calling it."""
    return callable(getattr(action, "invoke", None)) and callable(
        getattr(action, "ainvoke", None)
    )


def runnable_name(action: Any) -> str:
    """The name LangGraph gives a runnable added without a name."""
    get_name = getattr(action, "get_name", None)
    return str(get_name()) if callable(get_name) else type(action).__name__


def runnable_node(
    action: Any,
) -> Callable[[Any, Mapping[str, Any]], Awaitable[Any]]:
    """A node function calling ``action`` with the state and the node's config
    (callbacks and metadata included, so a chat model in a chain streams).

    Its async ``ainvoke`` is used: a runnable's sync work runs in a worker
    thread, and one that has only an async body (``RunnableLambda(afunc=...)``)
    works too.
    """

    async def node(state: Any, config: Mapping[str, Any]) -> Any:
        return await action.ainvoke(state, dict(config))

    node.__name__ = runnable_name(action)
    return node
