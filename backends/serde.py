"""The msgpack codec every backend stores values with. It never executes what it reads.

(Initial version: native msgpack types only. The full codec with explicit ext types
is being built under the durable-checkpointer issue.)
"""

from __future__ import annotations

from typing import Any

import msgpack

from timeloom.core.errors import SerializationError


class Serializer:
    """Encode values to bytes and back with msgpack; no pickle, no imports."""

    tag = "msgpack"

    def dumps(self, obj: Any) -> bytes:
        """Encode ``obj``.

        Raises:
            SerializationError: ``obj`` holds a value of a type the codec cannot store.
        """
        try:
            return msgpack.packb(obj, use_bin_type=True)
        except TypeError as exc:
            raise SerializationError(str(exc)) from exc

    def loads(self, data: bytes) -> Any:
        """Decode bytes written by :meth:`dumps`."""
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
