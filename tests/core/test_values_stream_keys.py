"""A root graph's ``values`` stream chunk shows every key of the graph, as
LangGraph's: the output schema limits what ``invoke`` returns, not what is
streamed (a subgraph's chunks keep to its output schema)."""

from __future__ import annotations

from typing import Any, TypedDict

from tests.core.sides import Api, run_on_both
from tests.core.test_subgraphs import generic


class In(TypedDict):
    question: str


class Out(TypedDict):
    answer: str


class Overall(TypedDict, total=False):
    question: str
    draft: str
    answer: str


class Private(TypedDict):
    note: str


def scenario(api: Api) -> Any:
    def think(state: In) -> Private:
        return {"note": state["question"] + "?"}

    def draft(state: Private) -> dict[str, Any]:
        return {"draft": state["note"] + "!"}

    def reply(state: Overall) -> Out:
        return {"answer": state["draft"].upper()}

    app = (
        api.StateGraph(Overall, input_schema=In, output_schema=Out)
        .add_sequence([think, draft, reply])
        .add_edge(api.START, "think")
        .compile(checkpointer=api.checkpointer())
    )
    config = {"configurable": {"thread_id": "t"}}
    streamed = list(app.stream({"question": "q"}, config, stream_mode="values"))
    returned = app.invoke({"question": "r"}, {"configurable": {"thread_id": "u"}})
    return streamed, returned


def test_values_chunks_show_private_and_non_output_keys() -> None:
    streamed, returned = run_on_both(scenario)
    assert returned == {"answer": "R?!"}
    assert list(streamed[-1]) == ["question", "draft", "answer", "note"]


class SubIn(TypedDict, total=False):
    x: str
    y: str


class SubOut(TypedDict, total=False):
    y: str


class SubAll(TypedDict, total=False):
    x: str
    y: str
    tmp: str


class Parent(TypedDict, total=False):
    x: str
    y: str


def subgraph_streams(api: Api) -> Any:
    """A subgraph with an output schema whose steps write its output key or
    only another key (and one pauses), run as a node and invoked in a node
    function; streamed with ``subgraphs=True``, then resumed twice."""

    def first(state: SubAll) -> dict[str, Any]:
        return {"tmp": "t", "y": "early"}

    def ask(state: SubAll) -> dict[str, Any]:
        return {"tmp": api.interrupt("q")}

    def last(state: SubAll) -> dict[str, Any]:
        return {"y": state["x"] + state["tmp"]}

    def quiet(state: SubAll) -> dict[str, Any]:
        return {"tmp": "u"}

    sub = (
        api.StateGraph(SubAll, input_schema=SubIn, output_schema=SubOut)
        .add_sequence([first, ask, last, quiet])
        .add_edge(api.START, "first")
        .compile()
    )

    def calls(state: Parent) -> Any:
        return sub.invoke({"x": state["x"] + "!"})  # writes no output key

    app = (
        api.StateGraph(Parent)
        .add_node("sub", sub)
        .add_node("calls", calls)
        .add_edge(api.START, "sub")  # the input writes y, an output key
        .add_edge("sub", "calls")
        .compile(checkpointer=api.checkpointer())
    )
    streamed = []
    for i, modes in enumerate(["values", ["values", "updates"]]):
        config = {"configurable": {"thread_id": str(i)}}
        for given in ({"x": "a", "y": "in"}, api.Command(resume="r1")):
            chunks = app.stream(given, config, stream_mode=modes, subgraphs=True)
            streamed.append([generic(c) for c in chunks])
        resumed = app.stream(
            api.Command(resume="r2"), config, stream_mode=modes, subgraphs=True
        )
        streamed.append([generic(c) for c in resumed])
    return streamed


def test_a_subgraph_streams_only_steps_that_write_its_output_keys() -> None:
    streamed = run_on_both(subgraph_streams)
    values_of_sub = [c[1] for c in streamed[0] if c[0] == ("sub",)]
    assert values_of_sub == [
        {"y": "in"},
        {"y": "early"},
        {"y": "early", "__interrupt__": [("interrupt", "q")]},
    ]
