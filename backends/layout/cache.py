"""Blobs already read, kept by content key (see :class:`BlobCache`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from timeloom.backends.layout.addressing import Fetch, verified


@dataclass(frozen=True, slots=True)
class VerifiedFetch:
    """A fetch whose blobs all match their keys (see :meth:`BlobCache.wrap`), so
    :func:`decode_values` need not hash them again."""

    fetch: Fetch

    def __call__(self, keys: Collection[bytes]) -> Awaitable[Mapping[bytes, bytes]]:
        return self.fetch(keys)


class BlobCache:
    """Blobs already read, by content key: a blob never changes under its key, so a
    cached one is always right and never needs invalidating.

    Sealed list chunks are shared by every later checkpoint of a thread, so reading
    checkpoint after checkpoint (a viewer moving its cursor, a run resuming) fetches
    each chunk once. Bounded by total size; safe to share between threads.
    """

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        """The cached blob with this key, if any."""
        with self._lock:
            blob = self._blobs.get(key)
            if blob is not None:
                self._blobs.move_to_end(key)
            return blob

    def lookup(self, keys: Collection[bytes]) -> tuple[dict[bytes, bytes], list[bytes]]:
        """The cached blobs among ``keys``, and the keys not cached."""
        found = {k: b for k in keys if (b := self.get(k)) is not None}
        return found, [key for key in keys if key not in found]

    def admit(self, fetched: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
        """Keep the fetched blobs that match their keys, and return them (a corrupt
        one is left out: it reads as missing)."""
        good = verified(fetched)
        self._add(good)
        return good

    def resolve(
        self,
        keys: Collection[bytes],
        fetch: Callable[[Collection[bytes]], Mapping[bytes, bytes]],
    ) -> dict[bytes, bytes]:
        """The blobs among ``keys``: from the cache, the rest from the synchronous
        ``fetch``; every one matches its key (as with :meth:`wrap`)."""
        found, missing = self.lookup(keys)
        if missing:
            found.update(self.admit(fetch(missing)))
        return found

    def wrap(self, fetch: Fetch) -> VerifiedFetch:
        """Return a fetch that answers from the cache and asks ``fetch`` for the rest.

        Every blob it returns matches its key: those ``fetch`` returns are checked
        once, when they enter the cache, and a corrupt one is left out (it reads as
        missing); cached ones were checked then.
        """

        async def cached(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
            found, missing = self.lookup(keys)
            if missing:
                found.update(self.admit(await fetch(missing)))
            return found

        return VerifiedFetch(cached)

    def _add(self, blobs: Mapping[bytes, bytes]) -> None:
        with self._lock:
            for key, blob in blobs.items():
                if key in self._blobs or len(blob) > self.max_bytes // 8:
                    continue
                self._blobs[key] = blob
                self._size += len(blob)
            while self._size > self.max_bytes and self._blobs:
                _, dropped = self._blobs.popitem(last=False)
                self._size -= len(dropped)
