"""``print_mode=`` and ``debug=``: a run prints the chunks of some stream modes
to the console as it goes, as LangGraph's does (``[mode] repr(chunk)``, the mode
in bold; a subgraph's chunk, with ``subgraphs=True``, also ``[graph=namespace]``
in yellow), without changing what it returns or yields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from timeloom.core.streaming import StreamMode, parse_modes

DEBUG_MODES: tuple[StreamMode, ...] = ("updates", "values")
"""What ``debug=True`` prints (whatever ``print_mode`` says), as LangGraph's."""


def printed_modes(
    print_mode: StreamMode | Sequence[StreamMode], debug: bool
) -> tuple[StreamMode, ...]:
    """The modes a run prints.

    Raises:
        ConfigError: an unknown mode.
    """
    if debug:
        return DEBUG_MODES
    modes = parse_modes(print_mode) if print_mode else ()
    return modes if isinstance(modes, tuple) else (modes,)


async def printing(
    chunks: AsyncIterator[Any],
    shown: tuple[StreamMode, ...] | StreamMode,
    printed: tuple[StreamMode, ...],
    subgraphs: bool,
) -> AsyncIterator[Any]:
    """Print the ``printed`` modes' chunks and yield the ``shown`` modes' in the
    shape the caller asked for.

    Args:
        chunks: a stream of every mode of both, as ``(mode, chunk)`` (with
            ``subgraphs``, ``(namespace, mode, chunk)``).
        shown: the stream modes asked for (a tuple: chunks as ``(mode, chunk)``).
        printed: the modes to print.
        subgraphs: whether the caller asked for the subgraphs' chunks.
    """
    multi = isinstance(shown, tuple)
    wanted = shown if isinstance(shown, tuple) else (shown,)
    async for item in chunks:
        ns, mode, chunk = item if subgraphs else ((), *item)
        if mode in printed:
            where = [f"\033[1;33m[graph={ns}]\033[0m"] if ns else []
            print(" ".join([f"\033[1m[{mode}]\033[0m", *where, repr(chunk)]))
        if mode not in wanted:
            continue
        if subgraphs:
            yield (ns, mode, chunk) if multi else (ns, chunk)
        else:
            yield (mode, chunk) if multi else chunk
