"""Time-ordered, globally unique checkpoint ids (UUIDv7, RFC 9562).

The first 48 bits are the Unix time in milliseconds, so sorting ids as strings sorts
them by creation time: ``ORDER BY checkpoint_id`` is history order. Within one process
ids are strictly increasing even when the clock stands still or steps back (the
12-bit ``rand_a`` field is used as a counter, "method 1" of RFC 9562 §6.2); across
processes they are unique thanks to 62 random bits (from :mod:`random`, which is
seeded by the OS and reseeded in every forked child).
"""

from __future__ import annotations

import random
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7, greater than every one this process made before."""
    return uuid.UUID(int=_uuid7_int())


def _uuid7_int() -> int:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, 0
        else:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    # Uniqueness, not secrecy: ``random`` is seeded from the OS and reseeds itself
    # in a forked child, and is far cheaper than a system call per id.
    rand_b = random.getrandbits(62)
    return (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b


def new_checkpoint_id() -> str:
    """Return a new checkpoint id as its canonical 36-character string."""
    return uuid_text(_uuid7_int())


def uuid_text(value: int) -> str:
    """A 128-bit UUID as its canonical 36-character string.

    What ``str(uuid.UUID(int=value))`` gives, without building a UUID object.
    """
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_time_ms(checkpoint_id: str) -> int:
    """Return the creation time (Unix ms) encoded in a UUIDv7 checkpoint id."""
    return uuid.UUID(checkpoint_id).int >> 80


def now_ms() -> int:
    """The current Unix time in milliseconds."""
    return time.time_ns() // 1_000_000


def id_floor_for_ms(ms: int) -> str:
    """The smallest UUIDv7 string of millisecond ``ms``: every id made at or after
    ``ms`` sorts after it."""
    return uuid_text((max(ms, 0) << 80) | (0x7 << 76) | (0b10 << 62))
