"""``print_mode=`` and ``debug=`` print a run's chunks as LangGraph's do, and
change nothing a run returns or yields."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph import graph as lg

import timeloom.core as tl
from timeloom.backends.memory import MemoryCheckpointer


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def program(sg: Any, start: str, **compile_kwargs: Any) -> Any:
    g = sg(State).add_node("a", lambda s: {"log": ["a"]})
    g.add_node("b", lambda s: {"log": ["b"]}).add_edge(start, "a").add_edge("a", "b")
    return g.compile(**compile_kwargs)


def printed_by_both(
    capsys: pytest.CaptureFixture[str], run: Any, **compile_kwargs: Any
) -> list[tuple[Any, str]]:
    """What ``run(app)`` returns and prints, for LangGraph's app and ours."""
    seen = []
    for sg, start in ((lg.StateGraph, lg.START), (tl.StateGraph, tl.START)):
        result = run(program(sg, start, **compile_kwargs))
        seen.append((result, capsys.readouterr().out))
    return seen


@pytest.mark.parametrize(
    "kwargs",
    [
        {"print_mode": ["updates", "values"]},
        {"print_mode": "updates", "stream_mode": "updates"},
        {"debug": True},
    ],
)
def test_invoke_prints_as_langgraph(
    capsys: pytest.CaptureFixture[str], kwargs: dict[str, Any]
) -> None:
    theirs, ours = printed_by_both(
        capsys, lambda app: app.invoke({"log": []}, **kwargs)
    )
    assert ours == theirs
    assert "\033[1m[updates]\033[0m {'a': {'log': ['a']}}" in ours[1].splitlines()


def test_compile_debug_prints_every_run_as_langgraph(
    capsys: pytest.CaptureFixture[str],
) -> None:
    theirs, ours = printed_by_both(
        capsys, lambda app: list(app.stream({"log": []})), debug=True
    )
    assert ours == theirs
    assert ours[1].count("[values]") == 3


def test_stream_yields_only_what_it_was_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    theirs, ours = printed_by_both(
        capsys,
        lambda app: list(
            app.stream({"log": []}, stream_mode=["updates"], print_mode="values")
        ),
    )
    assert ours == theirs
    assert [mode for mode, _ in ours[0]] == ["updates", "updates"]


def ask(state: State) -> dict[str, Any]:
    return {"log": [tl.interrupt("ok?")]}


def without_ids(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with its interrupts' values (an id differs per thread)."""
    asked = result.get("__interrupt__")
    return (
        result
        if asked is None
        else {**result, "__interrupt__": [i.value for i in asked]}
    )


@pytest.mark.parametrize("interrupt_before", [None, ["ask"]])
def test_printing_changes_nothing_invoke_returns(
    capsys: pytest.CaptureFixture[str], interrupt_before: list[str] | None
) -> None:
    app = program(tl.StateGraph, tl.START).builder.add_node("ask", ask)
    app = app.add_edge("b", "ask").compile(checkpointer=MemoryCheckpointer())
    results = []
    for thread, kwargs in (("quiet", {}), ("loud", {"print_mode": "updates"})):
        config = {"configurable": {"thread_id": thread}}
        first = app.invoke({"log": []}, config, interrupt_before=interrupt_before)
        again = app.invoke(None, config, **kwargs)
        results.append([without_ids(first), without_ids(again)])
    assert results[1] == results[0]
    assert results[1][1]["__interrupt__"] == ["ok?"]
    assert "[updates]" in capsys.readouterr().out


def test_an_unknown_print_mode_is_refused() -> None:
    app = program(tl.StateGraph, tl.START)
    with pytest.raises(tl.ConfigError, match="Unknown stream_mode"):
        app.invoke({"log": []}, print_mode="everything")
