"""Streaming as LangGraph streams: several modes at once, ``"custom"`` chunks
from ``get_stream_writer()``, and a run's own breakpoints and stream mode given
to ``invoke``/``stream``. Each program runs on LangGraph and on Timeloom."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import TIMELOOM, Api, run_on_both
from timeloom.core import ConfigError


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def program(api: Api, fail: bool = False) -> Any:
    """a -> b; each node writes two custom chunks; ``b`` may fail after them."""

    def node(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            write = api.get_stream_writer()
            write({"from": name, "part": 1})
            write(f"{name} done")
            if fail and name == "b":
                raise ValueError("b broke")
            return {"log": [name]}

        return run

    graph = api.StateGraph(State)
    graph.add_node("a", node("a"))
    graph.add_node("b", node("b"))
    graph.add_edge(api.START, "a")
    graph.add_edge("a", "b")
    return graph.compile(checkpointer=api.checkpointer())


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def both(run: Any) -> None:
    """Compare what ``run`` returns of each side's ``program``."""
    run_on_both(lambda api: run(program(api)))


@pytest.mark.parametrize(
    "modes",
    [
        ["updates", "values"],
        ["values", "custom", "updates"],
        "custom",
        ["custom"],
    ],
)
def test_modes_stream_as_langgraphs(modes: Any) -> None:
    both(lambda app: list(app.stream({"log": []}, config(), stream_mode=modes)))


def test_custom_chunks_of_a_failing_step_come_before_its_error() -> None:
    def scenario(api: Api) -> list[Any]:
        seen: list[Any] = []
        chunks = program(api, fail=True).stream(
            {"log": []}, config(), stream_mode=["custom", "updates"]
        )
        with pytest.raises(ValueError, match="b broke"):
            seen.extend(chunks)
        return seen

    assert ("custom", "b done") in run_on_both(scenario)


def test_a_writer_outside_a_custom_stream_drops_its_chunks() -> None:
    both(lambda app: app.invoke({"log": []}, config()))


def test_invoke_with_another_stream_mode_returns_the_chunks() -> None:
    both(lambda app: app.invoke({"log": []}, config(), stream_mode="updates"))


def test_the_async_twins_take_a_list_of_modes() -> None:
    async def run(app: Any) -> Any:
        streamed = [
            c
            async for c in app.astream(
                {"log": []}, config(), stream_mode=["custom", "values"]
            )
        ]
        invoked = await app.ainvoke({"log": []}, config("u"), stream_mode="custom")
        return streamed, invoked

    both(lambda app: asyncio.run(run(app)))


def test_breakpoints_given_to_a_run() -> None:
    def run(app: Any) -> Any:
        paused = app.invoke({"log": []}, config(), interrupt_before=["b"])
        at = app.get_state(config()).next
        streamed = list(app.stream({"log": []}, config("s"), interrupt_after=["a"]))
        rest = app.invoke(None, config("s"))
        return paused, at, streamed, rest

    both(run)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="Unknown stream_mode 'tokens'"):
        list(program(TIMELOOM).stream({"log": []}, config(), stream_mode=["tokens"]))
