"""``get_graph()`` draws what LangGraph draws: the same nodes, edges (in the same
order), Mermaid text and JSON, subgraphs expanded with ``xray``; with
``langchain_core`` it is LangChain's ``Graph``, without it Timeloom's
``DrawableGraph`` gives the same results."""

from __future__ import annotations

import asyncio
import operator
import sys
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langchain_core.runnables.graph import Edge as LcEdge
from langchain_core.runnables.graph import Graph as LcGraph
from langgraph import graph as lg
from langgraph import types as lg_types

import timeloom.core as tl
from timeloom.core.drawing import DrawableGraph


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def work(state: State) -> None:
    return None


# Each program is written once against LangGraph's API and built with both
# libraries: (StateGraph, START, END, Command) -> (graph builder, compile kwargs).
Program = Callable[[Any, str, str, Any], tuple[Any, dict[str, Any]]]


def chain(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    g = sg(State).add_sequence([("a", work), ("b", work), ("c", work)])
    return g.add_edge(start, "a").add_edge("c", end), {}


def loop(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    # A loop never reaches __end__: LangGraph ends it from the walk's last node.
    g = sg(State).add_node("human", work).add_node("agent", work)
    g.add_edge(start, "human").add_edge("human", "agent").add_edge("agent", "human")
    return g, {}


def routers(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    def pick(state: State) -> Literal["Call Tool", "b"]:
        return "b"

    g = sg(State)
    for name in ("Researcher", "Call Tool", "b", "unreached"):
        g.add_node(name, work)
    g.add_edge(start, "Researcher")
    g.add_conditional_edges(
        "Researcher",
        lambda s: "redo",
        {"redo": "Researcher", "tool": "Call Tool", "end": end, "b": "b"},
    )
    g.add_conditional_edges("Call Tool", pick)
    g.add_conditional_edges("b", lambda s: "unreached")  # not followed
    return g, {}


def hop_lg(state: State) -> lg_types.Command[Literal["hop", "labelled", "__end__"]]:
    return lg_types.Command()


def hop_tl(state: State) -> tl.Command[Literal["hop", "labelled", "__end__"]]:
    return tl.Command()


def commands(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    g = sg(State).add_node("hop", hop_tl if command is tl.Command else hop_lg)
    g.add_node("labelled", work, destinations={"plain": "why"})
    g.add_node("plain", work, destinations=("hop",))
    return g.add_edge(start, "hop"), {}


def joins(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    g = sg(State)
    for name in ("up", "side", "other", "down"):
        g.add_node(name, work)
    g.add_node("later", work, defer=True)
    g.add_edge(start, "up").add_edge("up", "side").add_edge("up", "other")
    g.add_edge(["up", "side"], "down").add_edge("other", "later")
    g.add_edge("down", end)
    return g, {}


def marked(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    g = sg(State).add_node("a", work, metadata={"team": "x(y)", "tags": ["t1", "t2"]})
    g.add_node("b", work).add_edge(start, "a").add_edge("a", "b")
    return g, {"interrupt_before": ["a", "b"], "interrupt_after": ["b"]}


def nested(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    inner = sg(State).add_node("c_one", work).add_node("c_two", work)
    inner.add_edge(start, "c_one").add_edge("c_two", "c_one")
    inner.add_conditional_edges("c_one", lambda s: "0", {"0": "c_two", "1": end})
    middle = sg(State).add_node("p_one", work).add_node("p_two", inner.compile())
    middle.add_edge(start, "p_one").add_edge("p_two", "p_one")
    middle.add_conditional_edges("p_one", lambda s: "0", {"0": "p_two", "1": end})
    fan = sg(State).add_node("slow", work).add_node("fast", work)
    fan.add_conditional_edges(start, lambda s: "slow", ["slow", "fast"])
    g = sg(State).add_node("gp_one", work).add_node("gp_two", middle.compile())
    g.add_node("fan", fan.compile()).add_node("quiet", fan.compile(checkpointer=False))
    g.add_edge(start, "gp_one").add_edge("gp_two", "gp_one")
    g.add_conditional_edges("gp_one", lambda s: "0", {"0": "gp_two", "1": "fan"})
    return g.add_edge("fan", "quiet"), {}


def called(sg: Any, start: str, end: str, command: Any) -> tuple[Any, dict[str, Any]]:
    # Subgraphs invoked inside node functions: named by a closure, or a global.
    inner = sg(State).add_node("i1", work).add_node("i2", work)
    sub = inner.add_edge(start, "i1").add_edge("i1", "i2").compile()

    def call_sub(state: State) -> Any:
        return sub.invoke(state)

    g = sg(State).add_node("call", call_sub).add_node("other", work)
    g.add_node("glob", call_global_lg if sg is lg.StateGraph else call_global_tl)
    g.add_edge(start, "call").add_edge("call", "other").add_edge("other", "glob")
    return g, {}


def global_graph(sg: Any, start: str) -> Any:
    g = sg(State).add_node("g1", work).add_node("g2", work).add_edge(start, "g1")
    return g.add_edge(start, "g2").compile()


LG_GLOBAL = global_graph(lg.StateGraph, lg.START)
TL_GLOBAL = global_graph(tl.StateGraph, tl.START)


def call_global_lg(state: State) -> Any:
    return LG_GLOBAL.invoke(state)


def call_global_tl(state: State) -> Any:
    return TL_GLOBAL.invoke(state)


PROGRAMS = [chain, loop, routers, commands, joins, marked, nested, called]


def drawings(program: Program, xray: int | bool) -> tuple[Any, Any]:
    """LangGraph's drawing and Timeloom's of the same program."""
    theirs, kwargs = program(lg.StateGraph, lg.START, lg.END, lg_types.Command)
    ours, _ = program(tl.StateGraph, tl.START, tl.END, tl.Command)
    return (
        theirs.compile(**kwargs).get_graph(xray=xray),
        ours.compile(**kwargs).get_graph(xray=xray),
    )


def without_node_data(json: dict[str, Any]) -> dict[str, Any]:
    """A drawing's JSON without what describes each node's callable: LangGraph
    wraps a function in a runnable of its own and names that class there."""
    nodes = [
        {k: v for k, v in node.items() if k not in ("type", "data")}
        for node in json["nodes"]
    ]
    return {**json, "nodes": nodes}


@pytest.mark.parametrize("xray", [False, True, 1])
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_the_drawing_is_langgraphs(program: Program, xray: int | bool) -> None:
    theirs, ours = drawings(program, xray)
    assert isinstance(ours, LcGraph)
    assert ours.edges == theirs.edges
    assert [(n.id, n.name, n.metadata) for n in ours.nodes.values()] == [
        (n.id, n.name, n.metadata) for n in theirs.nodes.values()
    ]
    assert ours.draw_mermaid() == theirs.draw_mermaid()
    assert ours.draw_mermaid(with_styles=False) == theirs.draw_mermaid(
        with_styles=False
    )
    assert without_node_data(ours.to_json()) == without_node_data(theirs.to_json())


def test_xray_draws_subgraphs_inside_to_the_depth_asked() -> None:
    _, whole = drawings(nested, True)
    _, one_level = drawings(nested, 1)
    _, flat = drawings(nested, False)
    assert "gp_two:p_two:c_one" in whole.nodes
    assert "gp_two:p_one" in one_level.nodes
    assert "gp_two:p_two" in one_level.nodes  # not expanded a second level
    assert "gp_two" in flat.nodes
    assert "quiet" in whole.nodes  # compiled with checkpointer=False: not drawn inside
    assert "\tsubgraph p_two" in whole.draw_mermaid().splitlines()
    _, calls = drawings(called, True)
    assert {"call:i1", "call:i2", "glob:g1", "glob:g2"} <= set(calls.nodes)


def test_a_loop_ends_where_langgraphs_walk_ends() -> None:
    theirs, ours = drawings(loop, False)
    assert ours.edges[-1] == LcEdge("agent", "__end__", None, True) == theirs.edges[-1]


def test_edges_equal_langchains_edges_and_name_the_labels() -> None:
    _, ours = drawings(commands, False)
    assert [
        LcEdge("__start__", "hop"),
        LcEdge("hop", "__end__", None, True),
        LcEdge("hop", "hop", None, True),
        LcEdge("hop", "labelled", None, True),
        LcEdge("labelled", "plain", "why", True),
        LcEdge("plain", "hop", None, True),
    ] == ours.edges


def without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on in the test, as if ``langchain_core`` were not installed."""
    for module in ("langchain_core", "langchain_core.runnables"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_without_langchain_the_drawing_is_the_same(
    program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder, kwargs = program(tl.StateGraph, tl.START, tl.END, tl.Command)
    app = builder.compile(**kwargs)
    langchains = app.get_graph(xray=True)
    without_langchain(monkeypatch)
    ours = app.get_graph(xray=True)
    assert isinstance(ours, DrawableGraph)
    assert ours.edges == langchains.edges
    assert list(ours.nodes.values()) == list(langchains.nodes.values())
    assert ours.to_json() == langchains.to_json()
    assert ours.draw_mermaid() == langchains.draw_mermaid()
    assert ours.draw_mermaid(with_styles=False) == langchains.draw_mermaid(
        with_styles=False
    )
    assert ours.first_node() == langchains.first_node()
    assert ours.last_node() == langchains.last_node()


def test_without_langchain_draw_mermaids_options_are_langchains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_core.runnables.graph import CurveStyle, NodeStyles

    builder, kwargs = marked(tl.StateGraph, tl.START, tl.END, tl.Command)
    app = builder.compile(**kwargs)
    langchains = app.get_graph()
    options: dict[str, Any] = {
        "curve_style": CurveStyle.BASIS,
        "node_colors": NodeStyles(default="fill:#fff"),
        "wrap_label_n_words": 2,
        "frontmatter_config": {
            "config": {
                "theme": "neutral",
                "look": "handDrawn",
                "themeVariables": {"primaryColor": "#e2e2e2", "on": True},
            }
        },
    }
    expected = langchains.draw_mermaid(**options)
    without_langchain(monkeypatch)
    ours = app.get_graph()
    assert isinstance(ours, DrawableGraph)
    assert ours.draw_mermaid(**options) == expected


def test_a_long_edge_label_wraps_as_langchains(monkeypatch: pytest.MonkeyPatch) -> None:
    def build(
        sg: Any, start: str, end: str, command: Any
    ) -> tuple[Any, dict[str, Any]]:
        g = sg(State).add_node("a", work).add_edge(start, "a")
        label = "when the answer is not yet good enough to send"
        return g.add_conditional_edges("a", lambda s: label, {label: end}), {}

    theirs, ours = drawings(build, False)
    expected = theirs.draw_mermaid(wrap_label_n_words=3)
    assert "&nbsp<br>&nbsp" in expected
    assert ours.draw_mermaid(wrap_label_n_words=3) == expected
    without_langchain(monkeypatch)
    app = build(tl.StateGraph, tl.START, tl.END, tl.Command)[0].compile()
    assert app.get_graph().draw_mermaid(wrap_label_n_words=3) == expected


def test_a_runnable_nodes_json_is_langgraphs_and_aget_graph_is_get_graph() -> None:
    from langchain_core.runnables import RunnableLambda

    runnable: RunnableLambda[Any, Any] = RunnableLambda(lambda s: {"log": ["r"]})
    apps = [
        sg(State).add_node("r", runnable).add_edge(start, "r").compile()
        for sg, start in ((lg.StateGraph, lg.START), (tl.StateGraph, tl.START))
    ]
    theirs, ours = (app.get_graph().to_json() for app in apps)
    assert ours["edges"] == theirs["edges"]
    assert ours["nodes"][1:] == theirs["nodes"][1:]  # __start__ differs on purpose
    assert ours["nodes"][1]["data"]["id"][-1] == "RunnableLambda"
    drawn = asyncio.run(apps[1].aget_graph(xray=True))
    assert drawn.edges == apps[1].get_graph(xray=True).edges
