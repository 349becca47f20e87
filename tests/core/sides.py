"""The two sides of a parity test: LangGraph's API names and Timeloom's.

A scenario is written once against an ``Api`` (the names a LangGraph program
imports) and run on both; LangGraph's behaviour is the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import langgraph.config as lg_config
import langgraph.errors as lg_errors
import langgraph.graph as lg_graph
import langgraph.graph.message as lg_message
import langgraph.types as lg_types
from langgraph.checkpoint.memory import InMemorySaver

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import (
    END,
    START,
    Command,
    InvalidUpdateError,
    MessagesState,
    RetryPolicy,
    Send,
    StateGraph,
    add_messages,
    get_config,
    get_stream_writer,
    interrupt,
    push_message,
)
from timeloom.core.checkpointer import BaseCheckpointer

T = TypeVar("T")


@dataclass(frozen=True)
class Api:
    """The names a LangGraph program imports, from one of the two runtimes;
    ``checkpointer`` makes that runtime's in-memory saver."""

    StateGraph: Any
    START: str
    END: str
    Command: Any
    Send: Any
    interrupt: Callable[..., Any]
    RetryPolicy: Any
    get_config: Callable[[], Any]
    get_stream_writer: Callable[[], Any]
    MessagesState: Any
    add_messages: Any
    push_message: Callable[..., Any]
    InvalidUpdateError: type[Exception]
    checkpointer: Callable[[], Any]


LANGGRAPH = Api(
    StateGraph=lg_graph.StateGraph,
    START=lg_graph.START,
    END=lg_graph.END,
    Command=lg_types.Command,
    Send=lg_types.Send,
    interrupt=lg_types.interrupt,
    RetryPolicy=lg_types.RetryPolicy,
    get_config=lg_config.get_config,
    get_stream_writer=lg_config.get_stream_writer,
    MessagesState=lg_graph.MessagesState,
    add_messages=lg_graph.add_messages,
    push_message=lg_message.push_message,
    InvalidUpdateError=lg_errors.InvalidUpdateError,
    checkpointer=InMemorySaver,
)
TIMELOOM = Api(
    StateGraph=StateGraph,
    START=START,
    END=END,
    Command=Command,
    Send=Send,
    interrupt=interrupt,
    RetryPolicy=RetryPolicy,
    get_config=get_config,
    get_stream_writer=get_stream_writer,
    MessagesState=MessagesState,
    add_messages=add_messages,
    push_message=push_message,
    InvalidUpdateError=InvalidUpdateError,
    checkpointer=MemoryCheckpointer,
)


def run_on_both(
    scenario: Callable[[Api], T], stored: BaseCheckpointer | None = None
) -> T:
    """Run ``scenario`` on LangGraph, then on Timeloom; assert both returned the
    same, and return Timeloom's result (for a test's further checks).

    Args:
        scenario: Builds and drives a program with the names it is given.
        stored: A checkpointer (a backend fixture's) Timeloom's side's
            ``api.checkpointer()`` returns instead of a new in-memory one; a
            scenario given one calls ``api.checkpointer()`` once.
    """
    theirs = scenario(LANGGRAPH)
    ours_api = (
        TIMELOOM if stored is None else replace(TIMELOOM, checkpointer=lambda: stored)
    )
    ours = scenario(ours_api)
    assert ours == theirs
    return ours
