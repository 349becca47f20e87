"""The ``messages`` stream mode's ear on LangChain chat models: a callback handler
that hears the tokens of the chat models a node calls.

Imported only when the program uses LangChain (``langchain_core`` is optional). A
node's chat model finds the handler in the node's config: in the ``config`` the
node is called with, and in LangChain's context, which the runtime sets for each
node (see :mod:`timeloom.core.interrupts`), so ``model.invoke(messages)`` inside a
node streams without passing the config on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult

try:  # the marker that makes a chat model stream its tokens even in invoke()
    from langchain_core.tracers._streaming import _StreamingCallbackHandler
except ImportError:  # pragma: no cover - older langchain-core
    _StreamingCallbackHandler = object  # type: ignore[misc,assignment]

T = TypeVar("T")
NOSTREAM = "nostream"
"""A chat model tagged with this (``model.with_config(tags=["nostream"])``) is
not streamed, as in LangGraph."""

Emit = Callable[[tuple[Any, Mapping[str, Any]]], None]


class _TokenHandler(BaseCallbackHandler, _StreamingCallbackHandler):  # type: ignore[type-arg]
    """Emits each token a chat model streams, or its whole message when it did
    not stream, with the metadata the model was called with."""

    run_inline = True  # called on the node's thread, in order

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.metadata: dict[UUID, dict[str, Any]] = {}
        self.seen: set[Any] = set()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if NOSTREAM in (tags or ()):
            return
        meta = dict(metadata or {})
        # As LangGraph's: LangChain gives a model the task's checkpoint_ns (in
        # LangGraph's task config), and the handler adds the caller's tags.
        if "langgraph_checkpoint_ns" in meta:
            meta.setdefault("checkpoint_ns", meta["langgraph_checkpoint_ns"])
        own = [t for t in tags or () if not t.startswith("seq:step")]
        if own:
            meta["tags"] = own
        self.metadata[run_id] = meta

    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        meta = self.metadata.get(run_id)
        if meta is not None and isinstance(chunk, ChatGenerationChunk):
            self.seen.add(chunk.message.id)
            self.emit((chunk.message, meta))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        meta = self.metadata.pop(run_id, None)
        if meta is None or not response.generations or not response.generations[0]:
            return
        generation = response.generations[0][0]
        if isinstance(generation, ChatGeneration):
            message = generation.message
            if message.id is None or message.id not in self.seen:
                self.seen.add(message.id)
                self.emit((message, meta))

    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.metadata.pop(run_id, None)

    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        return output

    def tap_output_aiter(self, run_id: UUID, output: Any) -> Any:
        return output


def token_handler(emit: Emit) -> BaseCallbackHandler:
    """A callback handler that gives ``emit`` each ``(message, metadata)`` a chat
    model streams (or returns whole, when it does not stream)."""
    return _TokenHandler(emit)


def emitters(callbacks: Iterable[Any]) -> list[Emit]:
    """Where the handlers :func:`token_handler` made among ``callbacks`` send
    messages (``push_message`` streams through them)."""
    return [h.emit for h in callbacks if isinstance(h, _TokenHandler)]
