"""A root graph's ``values`` stream chunk shows every key of the graph, as
LangGraph's: the output schema limits what ``invoke`` returns, not what is
streamed (a subgraph's chunks keep to its output schema)."""

from __future__ import annotations

from typing import Any, TypedDict

from tests.core.sides import Api, run_on_both


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
