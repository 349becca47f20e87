"""``get_input_jsonschema``/``get_output_jsonschema``: the same JSON Schema as
LangGraph's, for TypedDict, dataclass and pydantic states, a state of one
value, and separate input and output schemas."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from tests.core.sides import Api, run_on_both


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

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(state, **options)
        graph.add_node("n", lambda s: None)
        graph.add_edge(api.START, "n")
        app = graph.compile()
        return app.get_input_jsonschema(), app.get_output_jsonschema()

    schemas = run_on_both(scenario)
    assert schemas[0]
