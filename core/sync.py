"""Run the async runtime from synchronous code.

``invoke``, ``stream`` and friends drive the same coroutines as their async twins. A
thread with no running event loop gets one event loop of its own, reused for every
call (checkpointers keep connections per loop, so reuse matters); code that calls the
sync API from inside a running loop (a notebook, an async framework) is served by one
shared background loop thread instead of failing.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()
_thread_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_thread_loops_lock = threading.Lock()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_loop = False  # leave the except block first: errors then chain cleanly
    else:
        in_loop = True
    if not in_loop:
        return _thread_loop().run_until_complete(coro)
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def on_private_loop() -> bool:
    """Whether the running event loop is the one the sync API made for this thread.

    Nothing else runs on such a loop: its thread is blocked in a sync call waiting
    for it. So a backend may do short blocking I/O right there instead of handing
    it to another thread and back, which costs more than a small SQLite commit.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return loop is getattr(_local, "loop", None)


def iterate_sync(agen: AsyncIterator[T]) -> Generator[T, None, None]:
    """Iterate an async iterator from synchronous code, one item at a time."""
    try:
        while True:
            try:
                yield run_sync(_anext(agen))
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            run_sync(aclose())


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
        with _thread_loops_lock:
            _thread_loops.add(loop)
    return loop


@atexit.register
def _close_thread_loops() -> None:
    """End what is still pending on the threads' loops, as ``asyncio.run`` does.

    A loop of the sync API outlives its last call; anything left on it (an asyncpg
    pool's task that keeps reconnecting while the server is down, say) would be
    destroyed pending at exit, with a "Task was destroyed" warning. Loops still
    running (a daemon thread inside a call) are left alone.
    """
    with _thread_loops_lock:
        loops = list(_thread_loops)
    for loop in loops:
        if loop.is_closed() or loop.is_running():
            continue
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:  # gather() of nothing would look for a current loop
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background
    with _background_lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="timeloom-sync", daemon=True
            )
            thread.start()
            _background = loop
        return _background
