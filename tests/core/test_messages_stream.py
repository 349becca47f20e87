"""The ``messages`` stream mode with LangChain: what a node returns and what a
chat model streams, their ids and metadata, and each message streamed once
across a run's namespaces; LangGraph's behaviour is the reference."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import langgraph.graph as lg_graph
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from tests.core.sides import run_on_both


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


def test_returned_messages_get_the_id_the_state_keeps() -> None:
    """A message a node returns without an id (alone, in a ``Command``, in a
    list of ``Command``s) is streamed with an id, the one the state keeps."""

    def scenario(api: Any) -> Any:
        def alone(state: Any) -> Any:
            return {"messages": HumanMessage(content="a")}

        def commanded(state: Any) -> Any:
            return api.Command(update={"messages": HumanMessage(content="b")})

        def listed(state: Any) -> Any:
            return [api.Command(update={"messages": HumanMessage(content="c")})]

        app = (
            api.StateGraph(api.MessagesState)
            .add_sequence([alone, commanded, listed])
            .add_edge(api.START, "alone")
            .compile(checkpointer=api.checkpointer())
        )
        streamed = list(app.stream({"messages": []}, config(), stream_mode="messages"))
        kept = [m.id for m in app.get_state(config()).values["messages"]]
        assert [m.id for m, _ in streamed] == kept
        assert all(kept)
        return [(m.content, meta["langgraph_node"]) for m, meta in streamed]

    run_on_both(scenario)


def test_a_chat_models_chunks_carry_its_tags_and_checkpoint_ns() -> None:
    def scenario(api: Any) -> Any:
        model = GenericFakeChatModel(messages=iter(["hi there"]), tags=["meow"])
        app = (
            api.StateGraph(api.MessagesState)
            .add_node("call", lambda s: {"messages": model.invoke(s["messages"])})
            .add_edge(api.START, "call")
            .compile()
        )
        chunks = list(app.stream({"messages": "hi"}, stream_mode="messages"))
        metadata = [meta for _, meta in chunks]
        assert all(m["checkpoint_ns"] == m["langgraph_checkpoint_ns"] for m in metadata)
        return [(m["tags"], sorted(m)) for m in metadata]

    run_on_both(scenario)


class Chat(BaseModel):
    messages: Annotated[list[AnyMessage], lg_graph.add_messages] = Field(
        default_factory=list
    )


def test_same_as_langgraph_a_message_is_streamed_once_across_namespaces() -> None:
    """A subgraph asks, then answers on resume: the subgraph node's output (all
    the subgraph's messages) streams none of those its steps streamed or read."""

    def scenario(api: Any) -> Any:
        def propose(state: Chat) -> Any:
            return {"messages": [AIMessage(content="proposal", id="proposal")]}

        def approve(state: Chat) -> Any:
            said = api.interrupt("approve?")
            return {"messages": [HumanMessage(content=said)]}

        checkpointer = api.checkpointer()
        sub = (
            api.StateGraph(Chat)
            .add_node("propose", propose)
            .add_node("approve", approve)
            .add_edge(api.START, "propose")
            .add_edge("propose", "approve")
            .compile(checkpointer=checkpointer)
        )
        app = (
            api.StateGraph(Chat)
            .add_node("sub", sub)
            .add_node("last", lambda s: {"messages": [AIMessage("done", id="done")]})
            .add_edge(api.START, "sub")
            .add_edge("sub", "last")
            .compile(checkpointer=checkpointer)
        )
        runs = [
            app.stream({"messages": [HumanMessage("go", id="go")]}, config(), **MODES),
            app.stream(api.Command(resume="yes"), config(), **MODES),
        ]
        return [
            [
                (ns[:1] and ns[0].split(":")[0], m.content, meta["langgraph_node"])
                for ns, (m, meta) in run
            ]
            for run in runs
        ]

    run_on_both(scenario)


MODES: dict[str, Any] = {"stream_mode": "messages", "subgraphs": True}


def test_a_bound_model_passed_the_node_config_streams_each_token_once() -> None:
    """A model bound with ``with_config(tags=...)`` and also passed the node's
    config (as the docs do for Python < 3.11), sync or async: each token once."""

    def scenario(api: Any) -> Any:
        def bound(text: str, tag: str) -> Any:
            return GenericFakeChatModel(messages=iter([text])).with_config(tags=[tag])

        joke, poem = bound("a cat joke", "joke"), bound("roses", "poem")

        def write(state: Any, config: RunnableConfig) -> Any:
            return {"messages": [joke.invoke(state["messages"], config)]}

        async def rhyme(state: Any, config: RunnableConfig) -> Any:
            return {"messages": [await poem.ainvoke(state["messages"], config)]}

        app = (
            api.StateGraph(api.MessagesState)
            .add_sequence([write, rhyme])
            .add_edge(api.START, "write")
            .compile()
        )

        async def stream() -> list[Any]:
            chunks = app.astream({"messages": "hi"}, stream_mode="messages")
            return [(m.content, meta["tags"]) async for m, meta in chunks]

        return asyncio.run(stream())

    streamed = run_on_both(scenario)
    assert [c for c, _ in streamed] == ["a", " ", "cat", " ", "joke", "roses"]
