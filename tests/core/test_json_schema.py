"""``get_input_jsonschema``/``get_output_jsonschema``: the same JSON Schema as
LangGraph's, for TypedDict, dataclass and pydantic states, a state of one
value, and separate input and output schemas."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

import pytest
from langgraph.graph import START as LG_START
from langgraph.graph import StateGraph as LgStateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from timeloom.core import START, StateGraph


class In(TypedDict):
    question: str
    hint: NotRequired[int]


class Out(TypedDict, total=False):
    answer: str


class Full(In, Out):
    log: Annotated[list[str], operator.add]


@dataclass
class Data:
    count: int
    note: str | None  # optional in the schema, as LangGraph reads it
    label: str = "x"


class Model(BaseModel):
    count: int
    tags: list[str] = []


CASES: dict[str, tuple[Any, dict[str, Any]]] = {
    "typeddict": (Full, {}),
    "input_output": (Full, {"input_schema": In, "output_schema": Out}),
    "dataclass": (Data, {}),
    "pydantic": (Model, {}),
    "one_value": (Annotated[list[int], operator.add], {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_json_schemas_are_langgraphs(case: str) -> None:
    state, options = CASES[case]
    schemas = []
    for graph_cls, start in ((LgStateGraph, LG_START), (StateGraph, START)):
        graph = graph_cls(state, **options)
        graph.add_node("n", lambda s: None)
        graph.add_edge(start, "n")
        app = graph.compile()
        schemas.append((app.get_input_jsonschema(), app.get_output_jsonschema()))
    assert schemas[1] == schemas[0]
    assert schemas[1][0]
