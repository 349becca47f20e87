"""The blob cache: content-addressed, so answers are always right; bounded in size."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from timeloom.backends.layout import BlobCache, blob_key


async def test_cached_blobs_are_fetched_once_and_bad_ones_never_cached() -> None:
    good = {blob_key(b"chunk-%d" % i): b"chunk-%d" % i for i in range(3)}
    bad_key = blob_key(b"what the key promises")
    asked: list[set[bytes]] = []

    async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
        asked.append(set(keys))
        store = {**good, bad_key: b"corrupt bytes"}
        return {k: store[k] for k in keys if k in store}

    cache = BlobCache()
    cached = cache.wrap(fetch)
    first = await cached([*good, bad_key])
    assert first == good, "a blob that does not match its key reads as missing"
    again = await cached([*good, bad_key])
    assert again == first
    assert asked == [{*good, bad_key}, {bad_key}], "good blobs come from the cache"


async def test_the_cache_stays_within_its_size() -> None:
    blobs = {blob_key(bytes([i]) * 100): bytes([i]) * 100 for i in range(50)}

    async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
        return {k: blobs[k] for k in keys}

    cache = BlobCache(max_bytes=1000)
    cached = cache.wrap(fetch)
    for key in blobs:
        await cached([key])
    assert cache._size <= 1000
    assert len(cache._blobs) == 10
    assert list(cache._blobs) == list(blobs)[-10:], "the least recently used go first"
