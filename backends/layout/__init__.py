"""How checkpoint values are laid out in storage, shared by the SQL backends.

LangGraph's savers re-store every channel's whole value at every checkpoint, so a
chat whose message list grows by one message per step costs O(n) bytes per step and
O(n²) in total. This module stores values so that a step costs about what it adds,
and so that reading any checkpoint, however deep in its thread, takes at most two
batched blob fetches. It is pure Python: a backend only provides a blob table
(``key -> bytes``, insert-if-absent) and a place for one ``header`` per checkpoint.

The scheme
----------

Every blob is **content-addressed**: its key is ``blob_key(data)``, a 16-byte
BLAKE2b digest of its bytes, so identical content is stored once across checkpoints
and threads, and a reader can verify what it got. Each checkpoint has a small
**header** (msgpack, written by this module, independent of the value codec) mapping
each channel to one entry:

- ``["i", data]``: a small value (at most :data:`INLINE_MAX` encoded bytes) inline.
- ``["v", key]``: any other value, encoded whole by the codec, in blob ``key``.
  Unchanged values are deduplicated by their key.
- ``["l", n, manifest, tail]``: a ``list`` of ``n`` items, encoded item by item and
  laid out by position:

  - items ``[k*C, (k+1)*C)`` for every full window form a sealed **chunk** of
    ``C =`` :data:`CHUNK_ITEMS` items; a chunk never changes, so once written it is
    shared by every later checkpoint (and every fork) whose list has that prefix.
    ``manifest`` is the key of a blob listing the chunk keys (``None`` when there is
    no full chunk); it changes only when a chunk is sealed.
  - the remaining ``n mod C`` items (the **tail**) are stored as **deltas**:
    ``tail`` lists the keys of blobs that each hold the items one step appended.
    When a step appends to the parent's list, its entry is the parent's tail plus
    one delta with just the new items. A list that changed in any other way
    (edited, truncated, replaced) is simply re-laid out: its unchanged chunks still
    dedupe by key.

  Chunk and delta blobs hold a sequence of codec-encoded items, each prefixed with
  its length as 4 big-endian bytes. A manifest is its chunk keys concatenated.

Costs: a step that appends ``a`` items to a list writes ``a`` items in a delta,
about ``a`` more when a chunk is sealed (each item ends up in one chunk and at most
one delta), the header (at most ``C`` tail keys) and, every ``C`` items, a new
manifest of ``n / C`` keys. Bytes per checkpoint therefore stay flat as the list
grows. The one term that grows with ``n`` is the manifest: ``n`` bytes (16 per
chunk) rewritten every 16 appended items, so ``n / 16`` bytes per step at one item
a step: ~60 B at 1 000 items, ~600 B at 10 000.

Reading a checkpoint fetches the header's blobs (values, manifests, deltas) in one
batch and the chunks the manifests name in a second one: never the chain of earlier
checkpoints, so pruning them never affects a kept checkpoint.

Appends are detected generically: the writer keeps the :class:`ValuesState` of the
checkpoints it last wrote (returned by :func:`encode_values`; a small cache keyed by
checkpoint id, so a child finds its parent's), and compares encoded bytes, so the check is exact (``1 == True`` in Python, not
here). An unchanged prefix is not even encoded again: see :func:`_encode_list` for
how it is recognised and what that guarantees about items mutated in place. Other
channels are deduplicated by content only.

Reading never fails as a whole because of one bad blob: a channel whose blob is
missing, does not match its key or does not decode reads as an
:class:`UnreadableValue` naming the channel and the reason, so the rest of the
checkpoint can still be shown. A list whose manifest or tail does not add up to
its declared length, or that would expand to far more than what is stored (see
:data:`MAX_EXPANSION`), is unreadable too, refused before anything is built. Only an
unreadable *header* raises
:class:`~timeloom.core.errors.SerializationError`.

Writing a backend:

1. ``enc = encode_values(cp.values, serde, parent_state)``; in the step's
   transaction, store ``enc.header`` with the checkpoint and insert-if-absent every
   ``enc.blobs`` item. Blobs the parent state references are *not* in ``enc.blobs``:
   the backend must check, in the same transaction, that the parent checkpoint
   still exists (so its blobs do too) or else re-encode with ``parent=None``.
   Remember ``enc.state`` for the thread once committed.
2. Reading is plan, fetch, decode, all but the fetch pure and synchronous:
   ``p = plan(header)`` names the blobs (``p.keys``, then ``p.chunk_keys(found)``
   for the chunks the manifests list), the backend fetches them its own way
   (SQLite on its database thread, in the same hop), and ``decode(p, blobs,
   serde)`` builds the values (Postgres hands a big state to a worker thread).
   ``await decode_values(header, fetch, serde)`` does all three with an async
   ``fetch(keys) -> {key: data}``.
3. Garbage collection after deleting checkpoints: ``await unreferenced(deleted,
   remaining, fetch)`` gives the blobs only the deleted headers needed.

The package is split by concern: :mod:`.addressing` (keys, frames, headers: what
the stored bytes are), :mod:`.encode` (writing, and the writer's states),
:mod:`.decode` (reading) and :mod:`.cache` (blobs already read).
"""

from timeloom.backends.layout.addressing import (
    CHUNK_ITEMS,
    EXPANSION_FLOOR,
    HEADER_VERSION,
    INLINE_MAX,
    KEY_SIZE,
    MAX_EXPANSION,
    Codec,
    Fetch,
    blob_key,
    check_expansion,
    frame,
    header_keys,
    list_parts,
    manifest_keys,
    parse_header,
    referenced_keys,
    unframe,
    unreferenced,
    verified,
)
from timeloom.backends.layout.cache import BlobCache, VerifiedFetch
from timeloom.backends.layout.decode import (
    ReadPlan,
    decode,
    decode_mapping,
    decode_values,
    plan,
)
from timeloom.backends.layout.encode import (
    EncodedValues,
    ListState,
    ValuesState,
    ValueState,
    encode_values,
    values_unchanged,
)

__all__ = [
    "CHUNK_ITEMS",
    "EXPANSION_FLOOR",
    "HEADER_VERSION",
    "INLINE_MAX",
    "KEY_SIZE",
    "MAX_EXPANSION",
    "BlobCache",
    "Codec",
    "EncodedValues",
    "Fetch",
    "ListState",
    "ReadPlan",
    "ValueState",
    "ValuesState",
    "VerifiedFetch",
    "blob_key",
    "check_expansion",
    "decode",
    "decode_mapping",
    "decode_values",
    "encode_values",
    "frame",
    "header_keys",
    "list_parts",
    "manifest_keys",
    "parse_header",
    "plan",
    "referenced_keys",
    "unframe",
    "unreferenced",
    "values_unchanged",
    "verified",
]
