"""Routing: which nodes are due after a step, from edges, routers and ``goto``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from timeloom.core.constants import END
from timeloom.core.errors import InvalidUpdateError
from timeloom.core.sends import Send

HELD: Final = "deferred"
"""The key under which the waiting record keeps deferred nodes held back (a
waiting edge's key always has a colon)."""

if TYPE_CHECKING:
    from timeloom.core.graph import Branch
    from timeloom.core.state import StateSchema


class Router:
    """A compiled graph's edges and conditional edges, by source node."""

    def __init__(
        self,
        nodes: Sequence[str],
        edges: Sequence[tuple[str, str]],
        branches: Sequence[Branch],
        schema: StateSchema,
        waiting_edges: Sequence[tuple[tuple[str, ...], str]] = (),
        deferred: frozenset[str] = frozenset(),
    ) -> None:
        self.nodes = tuple(nodes)
        self.schema = schema
        self._order = {name: i for i, name in enumerate(nodes)}
        self._known = frozenset(nodes)
        self._edges: dict[str, list[str]] = {}
        for start, end in edges:
            self._edges.setdefault(start, []).append(end)
        self._branches: dict[str, list[Branch]] = {}
        for branch in branches:
            self._branches.setdefault(branch.source, []).append(branch)
        self._waits = {  # one to END waits for nothing: it would start nothing
            f"{'+'.join(starts)}:{end}": (frozenset(starts), end)
            for starts, end in waiting_edges
            if end != END
        }
        self._deferred = deferred

    async def next_after(
        self,
        ran: Sequence[str],
        values: Mapping[str, Any],
        gotos: Sequence[str | Send],
        waiting: Mapping[str, Sequence[str]],
    ) -> tuple[tuple[str, ...], list[Send], dict[str, list[str]]]:
        """The nodes due after ``ran`` wrote ``values``, in the graph's node order,
        the sends due (in order), and what the waiting edges wait for now.

        A node with no outgoing edge ends its branch: it adds nothing.

        Args:
            ran: the nodes whose updates made ``values``.
            values: the state after their updates.
            gotos: nodes and sends named by ``Command(goto=...)``.
            waiting: for each waiting edge, the starts that had finished before
                (the parent checkpoint's :data:`~timeloom.core.constants.WAITING`),
                and under :data:`HELD` the deferred nodes due but held back.

        Raises:
            InvalidUpdateError: a router or ``goto`` named a node that does not exist.
        """
        targets = list(gotos)
        due: set[str] = set()
        for name in ran:
            due.update(self._edges.get(name, ()))
            for branch in self._branches.get(name, ()):
                targets.extend(await self._route(branch, values))
        sends: list[Send] = []
        for target in targets:
            if isinstance(target, Send):
                sends.append(target)
            else:
                due.add(target)
        if self._waits:
            still = self._join(ran, waiting, due)
        else:
            still = {k: list(v) for k, v in waiting.items()} if waiting else {}
        due.discard(END)
        if self._deferred:
            self._hold(due, still)
        unknown = due - self._known
        if sends:
            unknown |= {s.node for s in sends} - self._known
        if unknown:
            raise InvalidUpdateError(
                f"Routing after {', '.join(ran)} named unknown node(s) "
                f"{', '.join(map(repr, sorted(unknown)))}; nodes: {', '.join(self.nodes)}"
            )
        return self.sorted(due), sends, still

    def _join(
        self, ran: Sequence[str], waiting: Mapping[str, Sequence[str]], due: set[str]
    ) -> dict[str, list[str]]:
        """Record ``ran`` on the waiting edges; add to ``due`` the end of each edge
        all of whose starts have now finished (that edge then waits afresh)."""
        still = {key: list(seen) for key, seen in waiting.items()}
        for key, (starts, end) in self._waits.items():
            finished = starts.intersection(ran)
            if not finished:
                continue
            seen = finished.union(still.get(key, ()))
            if seen == starts:
                due.add(end)
                still.pop(key, None)
            else:
                still[key] = sorted(seen)
        return still

    def _hold(self, due: set[str], still: dict[str, list[str]]) -> None:
        """Hold back the deferred nodes in ``due`` (kept in ``still`` under
        :data:`HELD`) while another node is due; when none is, all held nodes are
        due. Sends do not count: LangGraph runs a deferred node beside them."""
        held = due.intersection(self._deferred).union(still.pop(HELD, ()))
        due.difference_update(self._deferred)
        if not due:
            due.update(held)
        elif held:
            still[HELD] = list(self.sorted(held))

    async def _route(
        self, branch: Branch, values: Mapping[str, Any]
    ) -> list[str | Send]:
        result = branch.path(self.schema.node_input(values, branch.input_schema))
        if inspect.isawaitable(result):  # an async router
            result = await result
        chosen = (
            [result]
            if isinstance(result, str) or not isinstance(result, Sequence)
            else list(result)
        )
        if branch.path_map is None:
            return [c if isinstance(c, Send) else str(c) for c in chosen]
        try:  # as in LangGraph, a send is not looked up in the path map
            return [c if isinstance(c, Send) else branch.path_map[c] for c in chosen]
        except KeyError as exc:
            raise InvalidUpdateError(
                f"The router after {branch.source!r} returned {exc.args[0]!r}, which "
                f"its path map does not list ({', '.join(map(repr, branch.path_map))})"
            ) from exc

    def sorted(self, names: Sequence[str] | set[str]) -> tuple[str, ...]:
        """``names`` once each, in the graph's node order (others last)."""
        if len(names) < 2:  # the common case: nothing to order
            return tuple(names)
        return tuple(
            sorted(set(names), key=lambda n: self._order.get(n, len(self._order)))
        )
