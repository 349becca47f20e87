"""``durability="async"``: checkpoints committed behind the run, batched, never lost
from what a returned run shows."""

from __future__ import annotations

import asyncio
import operator
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.graphs import linear_graph, thread
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, StateGraph, interrupt
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import ConfigError, ConflictError
from timeloom.core.writer import Durability


class SlowCommits(MemoryCheckpointer):
    """Commits wait for ``release``; records each batch ``put_many`` got."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.batches: list[list[int]] = []
        self.fail_next: BaseException | None = None
        self.staged: list[int] = []

    def stage(self, checkpoint: Checkpoint) -> Checkpoint:
        self.staged.append(checkpoint.step)  # queued behind the run (async)
        return super().stage(checkpoint)

    async def put_many(
        self, checkpoints: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        await self.release.wait()
        self.batches.append([c.step for c in checkpoints])
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        await super().put_many(checkpoints, expected_head=expected_head)


def history(app: Any, thread_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    return [
        (s.metadata["step"], s.metadata["source"], s.values)
        for s in app.get_state_history(thread(thread_id))
    ]


def test_async_stores_the_same_history_as_sync(calls: Counter[str]) -> None:
    memory = MemoryCheckpointer()
    app = linear_graph(memory, calls)
    durabilities: tuple[Durability, ...] = ("sync", "async")
    for durability in durabilities:
        first = app.invoke(
            {"log": [], "count": 0}, thread(durability), durability=durability
        )
        again = app.invoke({"log": ["more"]}, thread(durability), durability=durability)
        assert first["count"] == 3
        assert again["count"] == 6
    assert history(app, "async") == history(app, "sync")
    assert len(history(app, "async")) == 10


async def test_steps_run_ahead_of_commits_which_are_batched(
    calls: Counter[str],
) -> None:
    """While the input checkpoints (step -1 and the input applied, one chain) are
    still being committed, the three steps run; their checkpoints are then
    committed as one chain."""
    store = SlowCommits()
    app = linear_graph(store, calls)
    run = asyncio.ensure_future(
        app.ainvoke({"log": [], "count": 0}, thread("t"), durability="async")
    )
    # Nodes run in worker threads: give them time, by the clock (a count of short
    # sleeps ran out on a loaded machine before the threads were scheduled), until
    # step 3's checkpoint is queued (its node having run is not enough: under load
    # the commits were released before it was queued, and it came in a batch alone).
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        if 3 in store.staged:
            break
        await asyncio.sleep(0.001)
    assert calls == Counter(step1=1, step2=1, step3=1), "the steps ran ahead"
    assert not run.done(), "but the run waits for its commits before returning"
    assert await store.get("t") is None
    store.release.set()
    result = await run
    assert result == {"log": ["step1", "step2", "step3"], "count": 3}
    assert store.batches == [[-1, 0], [1, 2, 3]]
    head = await store.get("t")
    assert head is not None
    assert head.values == result


async def test_a_failed_background_commit_fails_the_run(calls: Counter[str]) -> None:
    store = SlowCommits()
    store.release.set()
    store.fail_next = ConflictError("another writer moved the head")
    app = linear_graph(store, calls)
    with pytest.raises(ConflictError, match="another writer"):
        await app.ainvoke({"log": [], "count": 0}, thread("t"), durability="async")
    assert await store.get("t") is None, "nothing after the failed commit is stored"


class Approval(TypedDict):
    decisions: Annotated[list[Any], operator.add]


def test_interrupts_and_errors_land_on_stored_checkpoints() -> None:
    """Recording an interrupt or an error waits for the queued commits first."""
    memory = MemoryCheckpointer()
    fail = {"now": True}

    def propose(state: Approval) -> dict[str, Any]:
        return {"decisions": ["proposed"]}

    def approve(state: Approval) -> dict[str, Any]:
        return {"decisions": [interrupt("approve?")]}

    def pay(state: Approval) -> dict[str, Any]:
        if fail["now"]:
            raise RuntimeError("payment service down")
        return {"decisions": ["paid"]}

    graph = StateGraph(Approval)
    graph.add_node("propose", propose).add_node("approve", approve)
    graph.add_node("pay", pay)
    graph.add_edge(START, "propose").add_edge("propose", "approve")
    graph.add_edge("approve", "pay").add_edge("pay", END)
    app = graph.compile(checkpointer=memory)
    from timeloom.core import Command

    paused = app.invoke({"decisions": []}, thread("t"), durability="async")
    assert [i.value for i in paused["__interrupt__"]] == ["approve?"]
    assert app.get_state(thread("t")).interrupts
    with pytest.raises(RuntimeError, match="payment service down"):
        app.invoke(Command(resume="yes"), thread("t"), durability="async")
    state = app.get_state(thread("t"))
    assert state.values == {"decisions": ["proposed", "yes"]}
    assert [t.name for t in state.tasks if t.error] == ["pay"]
    fail["now"] = False
    done = app.invoke(None, thread("t"), durability="async")
    assert done == {"decisions": ["proposed", "yes", "paid"]}


def test_a_stream_left_early_still_stores_what_it_showed(calls: Counter[str]) -> None:
    memory = MemoryCheckpointer()
    app = linear_graph(memory, calls)
    stream = app.stream(
        {"log": [], "count": 0},
        thread("t"),
        stream_mode="values",
        durability="async",
    )
    shown = [next(stream), next(stream)]  # the input, then step1
    stream.close()
    assert shown[-1] == {"log": ["step1"], "count": 1}
    assert app.get_state(thread("t")).values == shown[-1]


def test_an_unknown_durability_is_a_clear_error(calls: Counter[str]) -> None:
    app = linear_graph(MemoryCheckpointer(), calls)
    with pytest.raises(ConfigError, match="Unknown durability"):
        app.stream({"log": []}, thread("t"), durability="later")  # type: ignore[arg-type]
    assert calls == Counter()


class CountingCommits(MemoryCheckpointer):
    """Records the steps of each commit call (``put`` or ``put_many``)."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[list[int]] = []

    async def put(self, checkpoint: Checkpoint, *, expected_head: str | None) -> None:
        if not self._in_many:
            self.commits.append([checkpoint.step])
        await super().put(checkpoint, expected_head=expected_head)

    async def put_many(
        self, checkpoints: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        self.commits.append([c.step for c in checkpoints])
        self._in_many = True
        try:
            await super().put_many(checkpoints, expected_head=expected_head)
        finally:
            self._in_many = False

    _in_many = False


def test_the_input_checkpoints_are_one_commit(calls: Counter[str]) -> None:
    """The input checkpoint and the input applied cost one commit (one transaction
    and one round trip on the SQL backends), so a turn costs no extra trip."""
    store = CountingCommits()
    app = linear_graph(store, calls)
    app.invoke({"log": [], "count": 0}, thread("t"))
    assert store.commits == [[-1, 0], [1], [2], [3]]
    store.commits.clear()
    app.invoke({"log": []}, thread("t"))
    assert store.commits == [[4, 5], [6], [7], [8]]
