"""LangChain runnables as nodes (a ``RunnableLambda``, an async-only one, a chain
of a prompt, a chat model and a parser): they run as on LangGraph, and a chat
model inside a chain streams its tokens in ``messages`` mode."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from tests.core.sides import TIMELOOM, Api, run_on_both


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    topic: str


def shout(state: State) -> dict[str, Any]:
    return {"log": [f"shout:{state['topic']}"]}


async def ashout(state: State) -> dict[str, Any]:
    return {"log": [f"async:{state['topic']}"]}


def program(api: Api) -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage("a joke", id="j")]))
    chain = (
        ChatPromptTemplate.from_template("tell a joke about {topic}")
        | model
        | StrOutputParser()
        | RunnableLambda(lambda text: {"log": [text]})
    )
    graph = api.StateGraph(State)
    graph.add_node(RunnableLambda(shout))  # named after its function
    graph.add_node("lambda", RunnableLambda(lambda state: {"log": ["lambda"]}))
    graph.add_node("chain", chain)
    graph.add_edge(api.START, "lambda")
    graph.add_edge("lambda", "shout")
    graph.add_edge("shout", "chain")
    return graph.compile()


def test_runnables_run_as_nodes_as_on_langgraph() -> None:
    result = run_on_both(lambda api: program(api).invoke({"log": [], "topic": "owls"}))
    assert result["log"] == ["lambda", "shout:owls", "a joke"]
    assert list(program(TIMELOOM).get_graph().nodes)[1:4] == [
        "shout",
        "lambda",
        "chain",
    ]


def test_an_async_only_runnable_runs_in_an_async_run_as_on_langgraph() -> None:
    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State)
        graph.add_node(RunnableLambda(ashout))
        graph.add_edge(api.START, "ashout")
        app = graph.compile()
        return asyncio.run(app.ainvoke({"log": [], "topic": "owls"}))

    assert run_on_both(scenario) == {"log": ["async:owls"], "topic": "owls"}


def test_a_chat_model_in_a_chain_node_streams_its_tokens() -> None:
    app = program(TIMELOOM)
    chunks = list(app.stream({"log": [], "topic": "owls"}, stream_mode="messages"))
    tokens = [m.content for m, meta in chunks if meta["langgraph_node"] == "chain"]
    assert "".join(tokens) == "a joke"
    assert len(tokens) > 1
