"""SQL of the PostgreSQL checkpointer: the numbered migrations and every statement.

Every table is prefixed ``timeloom_`` so a database may also hold LangGraph's tables.
Text ids use the "C" collation so that the server sorts them exactly as Python
compares strings (UUIDv7 strings sort by creation time).

A step commit is one call of the server-side function ``timeloom_put``: one round
trip that checks the thread's head, stores the new blobs, inserts the checkpoint,
moves the head and, while a follower listens, sends the NOTIFY for live follow, all
in the statement's own transaction. A conflicting head writes nothing and is
reported in the result row.

Each checkpoint lists in ``blob_refs`` the blobs its values header names, so a read
gets them with the row; the chunks its list manifests name come in a second query.
Deleting checkpoints deletes the blobs no remaining checkpoint needs, found by
marking through every remaining header and manifest (deletes and prunes are rare).
Puts take a shared advisory lock that the collector takes exclusively, so a blob a
put found already stored stays stored.
"""

from __future__ import annotations

NOTIFY_CHANNEL = "timeloom_checkpoints"
"""LISTEN/NOTIFY channel; the payload is ``{"id": ..., "thread_id": ...}`` (JSON)."""
WATCHER_APPLICATION_NAME = "timeloom-watch"
"""``application_name`` of a listening connection: commits notify only while one is
connected to the database."""

SETUP_LOCK_KEY = 0x54494D454C4F4F4D  # "TIMELOOM": serialises concurrent setup()
BLOB_GC_LOCK_KEY = 0x54494D45424C4F42  # puts share it; deleting blobs takes it alone

_SCHEMA_V1 = (
    """
CREATE TABLE timeloom_blobs (
    hash bytea PRIMARY KEY,
    data bytea NOT NULL
);

CREATE TABLE timeloom_threads (
    thread_id text COLLATE "C" PRIMARY KEY,
    head_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    checkpoint_count integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    forked_from_thread text COLLATE "C",
    forked_from_id text COLLATE "C",
    metadata bytea NOT NULL,
    metadata_json jsonb NOT NULL
);
CREATE INDEX timeloom_threads_updated ON timeloom_threads (updated_at DESC, head_id DESC);
CREATE INDEX timeloom_threads_status
    ON timeloom_threads (status, updated_at DESC, head_id DESC);

CREATE TABLE timeloom_checkpoints (
    id text COLLATE "C" PRIMARY KEY,
    thread_id text COLLATE "C" NOT NULL,
    parent_id text COLLATE "C",
    parent_thread_id text COLLATE "C",
    step integer NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL,
    nodes text[] NOT NULL,
    next text[] NOT NULL,
    metadata bytea NOT NULL,
    metadata_json jsonb NOT NULL,
    values_header bytea NOT NULL,
    blob_refs bytea[] NOT NULL,
    writes bytea NOT NULL,
    size integer NOT NULL,
    has_error boolean NOT NULL DEFAULT false,
    has_interrupt boolean NOT NULL DEFAULT false,
    interrupt_ids text[] NOT NULL DEFAULT '{}',
    resume_ids text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX timeloom_checkpoints_thread ON timeloom_checkpoints (thread_id, id);
CREATE INDEX timeloom_checkpoints_parent ON timeloom_checkpoints (parent_id);
CREATE INDEX timeloom_checkpoints_refs ON timeloom_checkpoints USING gin (blob_refs);

CREATE TABLE timeloom_writes (
    checkpoint_id text COLLATE "C" NOT NULL
        REFERENCES timeloom_checkpoints (id) ON DELETE CASCADE,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    batch text NOT NULL,
    node text NOT NULL,
    kind text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (checkpoint_id, seq)
);

CREATE FUNCTION timeloom_put(
    p_id text, p_thread text, p_parent text, p_parent_thread text, p_step integer,
    p_source text, p_created timestamptz, p_nodes text[], p_next text[],
    p_metadata bytea, p_metadata_json jsonb, p_header bytea, p_refs bytea[],
    p_writes bytea, p_size integer, p_expected text,
    p_blob_keys bytea[], p_blob_data bytea[], p_needs_parent boolean
) RETURNS TABLE (status text, head text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_status text := CASE WHEN cardinality(p_next) = 0 THEN 'done' ELSE 'running' END;
    v_fork boolean := p_parent_thread IS NOT NULL AND p_parent_thread <> p_thread;
BEGIN
    -- Shared with other puts; a blob collector takes it exclusively, so it never
    -- deletes a blob that a put in flight found already stored.
    PERFORM pg_advisory_xact_lock_shared(@GC_LOCK@);
    IF p_expected IS NULL THEN
        INSERT INTO timeloom_threads AS t (
            thread_id, head_id, status, checkpoint_count, created_at, updated_at,
            forked_from_thread, forked_from_id, metadata, metadata_json)
        VALUES (
            p_thread, p_id, v_status, 1, p_created, p_created,
            CASE WHEN v_fork THEN p_parent_thread END,
            CASE WHEN v_fork THEN p_parent END,
            p_metadata, p_metadata_json)
        ON CONFLICT (thread_id) DO NOTHING;
    ELSE
        -- Guarded head move: a concurrent writer holding the row makes us wait, then
        -- the WHERE is re-checked against its committed head and fails.
        UPDATE timeloom_threads AS t SET
            head_id = p_id, status = v_status,
            checkpoint_count = t.checkpoint_count + 1, updated_at = p_created,
            forked_from_thread = coalesce(t.forked_from_thread,
                                          CASE WHEN v_fork THEN p_parent_thread END),
            forked_from_id = coalesce(t.forked_from_id,
                                      CASE WHEN v_fork THEN p_parent END),
            metadata = p_metadata, metadata_json = p_metadata_json
        WHERE t.thread_id = p_thread AND t.head_id = p_expected;
    END IF;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'conflict', (SELECT t.head_id FROM timeloom_threads AS t
                                         WHERE t.thread_id = p_thread);
        RETURN;
    END IF;
    -- The client left out the blobs its parent references: they exist as long as
    -- the parent does (the GC lock above keeps it so until we commit).
    IF p_needs_parent AND NOT EXISTS (
            SELECT 1 FROM timeloom_checkpoints WHERE id = p_parent) THEN
        RAISE EXCEPTION USING ERRCODE = 'TL001', MESSAGE = 'parent checkpoint gone';
    END IF;
    -- Sorted, so that two puts storing the same new blobs cannot deadlock.
    INSERT INTO timeloom_blobs (hash, data)
    SELECT b.key, b.data FROM unnest(p_blob_keys, p_blob_data) AS b(key, data)
    ORDER BY b.key
    ON CONFLICT (hash) DO NOTHING;
    INSERT INTO timeloom_checkpoints (
        id, thread_id, parent_id, parent_thread_id, step, source, created_at, nodes,
        next, metadata, metadata_json, values_header, blob_refs, writes, size)
    VALUES (
        p_id, p_thread, p_parent, p_parent_thread, p_step, p_source, p_created,
        p_nodes, p_next, p_metadata, p_metadata_json, p_header, p_refs, p_writes,
        p_size);
    -- A transaction that notified holds a cluster-wide lock through its commit, so
    -- notifying commits cannot share a WAL flush: concurrent writers then commit
    -- about half as fast. Only notify while a follower listens to this database
    -- (it connects as @WATCHER@ and rescans once it listens, so a commit made
    -- meanwhile is still seen).
    IF EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) AS a  -- pg_stat_activity's source
               WHERE a.application_name = '@WATCHER@'
                 AND a.datid = (SELECT d.oid FROM pg_database AS d
                                WHERE d.datname = current_database())) THEN
        PERFORM pg_notify('@CHANNEL@',
                          json_build_object('id', p_id, 'thread_id', p_thread)::text);
    END IF;
    RETURN QUERY SELECT 'ok', p_id;
END
$fn$;

CREATE FUNCTION timeloom_put_writes(
    p_thread text, p_checkpoint text, p_batch text, p_nodes text[], p_kinds text[],
    p_values bytea[], p_interrupt_ids text[], p_resume_ids text[]
) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    v_next text[];
    v_error boolean;
    v_interrupt boolean;
BEGIN
    UPDATE timeloom_checkpoints AS c SET
        has_error = c.has_error OR 'error' = ANY (p_kinds),
        interrupt_ids = c.interrupt_ids || p_interrupt_ids,
        resume_ids = c.resume_ids || p_resume_ids,
        has_interrupt = EXISTS (SELECT unnest(c.interrupt_ids || p_interrupt_ids)
                                EXCEPT SELECT unnest(c.resume_ids || p_resume_ids))
    WHERE c.id = p_checkpoint AND c.thread_id = p_thread
      -- A batch is stored once: a client retrying after a lost connection may
      -- send again a batch that was committed.
      AND NOT EXISTS (SELECT 1 FROM timeloom_writes AS w
                      WHERE w.checkpoint_id = p_checkpoint AND w.batch = p_batch)
    RETURNING c.next, c.has_error, c.has_interrupt INTO v_next, v_error, v_interrupt;
    IF NOT FOUND THEN
        RETURN EXISTS (SELECT 1 FROM timeloom_checkpoints AS c
                       WHERE c.id = p_checkpoint AND c.thread_id = p_thread);
    END IF;
    INSERT INTO timeloom_writes (checkpoint_id, batch, node, kind, value)
    SELECT p_checkpoint, p_batch, w.node, w.kind, w.value
    FROM unnest(p_nodes, p_kinds, p_values) WITH ORDINALITY AS w(node, kind, value, n)
    ORDER BY w.n;
    UPDATE timeloom_threads SET status = CASE
            WHEN v_error THEN 'failed'
            WHEN v_interrupt THEN 'paused'
            WHEN cardinality(v_next) = 0 THEN 'done'
            ELSE 'running' END
    WHERE thread_id = p_thread AND head_id = p_checkpoint;
    RETURN true;
END
$fn$;
""".replace("@GC_LOCK@", str(BLOB_GC_LOCK_KEY))
    .replace("@CHANNEL@", NOTIFY_CHANNEL)
    .replace("@WATCHER@", WATCHER_APPLICATION_NAME)
)

# v2: ``blob_refs`` of new checkpoints lists only the blobs their header names
# (values, manifests, tail deltas), not every chunk a manifest lists: ~10 keys
# instead of one per 16 list items. Garbage collection marks through the headers
# and manifests instead (see ``PostgresCheckpointer._collect_garbage``), so the GIN
# index it used goes. Old rows keep their longer lists, which stay correct. A
# client that only knows v1 (which trusted ``blob_refs`` to be complete when
# deleting blobs) refuses a v2 database instead of deleting blobs still needed.
_SCHEMA_V2 = """
DROP INDEX IF EXISTS timeloom_checkpoints_refs;
COMMENT ON COLUMN timeloom_checkpoints.blob_refs IS
    'The blobs the values header names directly (v1 rows: every blob needed)';
"""

# v3: the ``writes`` of new checkpoints are laid out like values (a header after
# the marker byte ``WRITES_LAYOUT_MARK``, items in content-addressed blobs), so the
# message a step appended is stored once, shared with the values' list delta. The
# blobs they need are in ``blob_refs`` and marked by garbage collection. Old rows
# keep codec-encoded writes (which never start with the marker).
_SCHEMA_V3 = """
COMMENT ON COLUMN timeloom_checkpoints.writes IS
    'The codec-encoded writes, or 0xC1 then a layout header (v3)';
"""

# v4: a chain of checkpoints committed in one round trip (durability="async"): the
# client sends one call per checkpoint in a single pipelined batch, which runs as
# one transaction; a conflict must abort it, so this raises where timeloom_put
# reports. Adds a function only: v3 databases stay readable.
_SCHEMA_V4 = """
CREATE FUNCTION timeloom_put_chained(
    p_id text, p_thread text, p_parent text, p_parent_thread text, p_step integer,
    p_source text, p_created timestamptz, p_nodes text[], p_next text[],
    p_metadata bytea, p_metadata_json jsonb, p_header bytea, p_refs bytea[],
    p_writes bytea, p_size integer, p_expected text,
    p_blob_keys bytea[], p_blob_data bytea[], p_needs_parent boolean
) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    v_status text;
    v_head text;
BEGIN
    SELECT r.status, r.head INTO v_status, v_head FROM timeloom_put(
        p_id, p_thread, p_parent, p_parent_thread, p_step, p_source, p_created,
        p_nodes, p_next, p_metadata, p_metadata_json, p_header, p_refs, p_writes,
        p_size, p_expected, p_blob_keys, p_blob_data, p_needs_parent) AS r;
    IF v_status <> 'ok' THEN
        RAISE EXCEPTION USING ERRCODE = '@CONFLICT@', MESSAGE = 'head moved',
            DETAIL = coalesce(v_head, '');
    END IF;
END
$fn$;
""".replace("@CONFLICT@", "TL002")

MIGRATIONS: list[str] = [_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4]
"""The schema as numbered steps: version ``n`` is ``MIGRATIONS[:n]`` applied."""
READABLE_FROM = 3
"""The oldest schema version a read-only open accepts (v4 only added a function)."""

WRITES_LAYOUT_MARK = b"\xc1"
"""Starts ``writes`` laid out by the layout module: a byte msgpack never uses, so no
codec-encoded value starts with it."""

# -- setup -------------------------------------------------------------------------

CREATE_MIGRATIONS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS timeloom_migrations (v integer PRIMARY KEY)
"""
SETUP_LOCK_SQL = f"SELECT pg_advisory_xact_lock({SETUP_LOCK_KEY})"
SCHEMA_VERSION_SQL = "SELECT coalesce(max(v), 0) FROM timeloom_migrations"
RECORD_MIGRATION_SQL = "INSERT INTO timeloom_migrations (v) VALUES ($1)"
# What is in the database, for a clear message when it is not (yet) ours.
INSPECT_TABLES_SQL = """
SELECT c.relname FROM pg_class AS c
WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace
"""

# -- writes ------------------------------------------------------------------------

PUT_SQL = "SELECT status, head FROM timeloom_put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19)"
PARENT_GONE_SQLSTATE = "TL001"
"""Raised by ``timeloom_put`` when the blobs left out for the parent are not there."""
PUT_CHAINED_SQL = "SELECT timeloom_put_chained($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, $16, $17, $18, $19)"
CONFLICT_SQLSTATE = "TL002"  # as in _SCHEMA_V4
"""Raised by ``timeloom_put_chained`` when the head moved; the detail is the head."""
PUT_WRITES_SQL = "SELECT timeloom_put_writes($1, $2, $3, $4, $5, $6, $7, $8)"
CHECKPOINT_IN_THREAD_SQL = """
SELECT EXISTS (SELECT 1 FROM timeloom_checkpoints WHERE id = $1 AND thread_id = $2)
"""

GC_LOCK_SQL = f"SELECT pg_advisory_xact_lock({BLOB_GC_LOCK_KEY})"
# A thread with its subgraphs' timelines ("thread|..."), in one statement.
DELETE_THREAD_SQL = """
WITH doomed AS (
    SELECT $1::text AS thread_id
    UNION SELECT thread_id FROM timeloom_threads
    WHERE starts_with(thread_id, $1 || '|')
), gone AS (
    DELETE FROM timeloom_checkpoints WHERE thread_id IN (SELECT thread_id FROM doomed)
    RETURNING values_header, writes
), thread AS (
    DELETE FROM timeloom_threads WHERE thread_id IN (SELECT thread_id FROM doomed)
)
SELECT values_header, writes FROM gone
"""
ALL_HEADERS_SQL = "SELECT values_header, writes FROM timeloom_checkpoints"
FETCH_BLOBS_SQL = "SELECT hash, data FROM timeloom_blobs WHERE hash = ANY ($1::bytea[])"
DELETE_BLOBS_SQL = "DELETE FROM timeloom_blobs WHERE hash = ANY ($1::bytea[])"
PRUNE_CANDIDATES_SQL = """
SELECT c.id, c.created_at, c.has_interrupt,
       (SELECT count(*) FROM timeloom_checkpoints AS k WHERE k.parent_id = c.id) AS kids,
       EXISTS (SELECT 1 FROM timeloom_checkpoints AS k
               WHERE k.parent_id = c.id AND k.thread_id <> c.thread_id) AS forked
FROM timeloom_checkpoints AS c
WHERE c.thread_id = $1
ORDER BY c.id
"""
PRUNE_DELETE_SQL = """
DELETE FROM timeloom_checkpoints WHERE id = ANY ($1::text[])
RETURNING values_header, writes
"""
PRUNE_UPDATE_THREAD_SQL = """
UPDATE timeloom_threads AS t SET
    checkpoint_count = s.n, created_at = s.first
FROM (SELECT count(*) AS n, min(created_at) AS first
      FROM timeloom_checkpoints WHERE thread_id = $1) AS s
WHERE t.thread_id = $1
"""
HEAD_FOR_UPDATE_SQL = """
SELECT head_id FROM timeloom_threads WHERE thread_id = $1 FOR UPDATE
"""

# -- reads -------------------------------------------------------------------------

_META_COLUMNS = """
c.id, c.thread_id, c.parent_id, c.parent_thread_id, c.step, c.source, c.created_at,
c.nodes, c.next, c.metadata, c.has_error, c.has_interrupt, c.size
"""
# A checkpoint with everything needed to rebuild it: one round trip, each blob and
# pending write looked up once.
_FULL_SELECT = f"""
SELECT {_META_COLUMNS}, c.values_header, c.writes,
       coalesce(bl.keys, '{{}}') AS blob_keys, coalesce(bl.data, '{{}}') AS blob_data,
       coalesce(pw.nodes, '{{}}') AS w_nodes, coalesce(pw.kinds, '{{}}') AS w_kinds,
       coalesce(pw.vals, '{{}}') AS w_values
FROM timeloom_checkpoints AS c
LEFT JOIN LATERAL (
    SELECT array_agg(b.hash) AS keys, array_agg(b.data) AS data
    FROM timeloom_blobs AS b WHERE b.hash = ANY (c.blob_refs)
) AS bl ON true
LEFT JOIN LATERAL (
    SELECT array_agg(w.node ORDER BY w.seq) AS nodes,
           array_agg(w.kind ORDER BY w.seq) AS kinds,
           array_agg(w.value ORDER BY w.seq) AS vals
    FROM timeloom_writes AS w WHERE w.checkpoint_id = c.id
) AS pw ON true
"""
GET_BY_ID_SQL = f"""{_FULL_SELECT}
WHERE c.id = $1 AND ($2::text IS NULL OR c.thread_id = $2)
"""
GET_HEAD_SQL = f"""{_FULL_SELECT}
WHERE c.id = (SELECT t.head_id FROM timeloom_threads AS t WHERE t.thread_id = $1)
"""
# The head's id and its pending writes only: enough when the reader still holds
# the head checkpoint it committed itself (see backends/recent.py).
HEAD_PENDING_SQL = """
SELECT t.head_id AS id,
       coalesce(pw.nodes, '{}') AS w_nodes, coalesce(pw.kinds, '{}') AS w_kinds,
       coalesce(pw.vals, '{}') AS w_values
FROM timeloom_threads AS t
LEFT JOIN LATERAL (
    SELECT array_agg(w.node ORDER BY w.seq) AS nodes,
           array_agg(w.kind ORDER BY w.seq) AS kinds,
           array_agg(w.value ORDER BY w.seq) AS vals
    FROM timeloom_writes AS w WHERE w.checkpoint_id = t.head_id
) AS pw ON true
WHERE t.thread_id = $1
"""
LIST_SQL = f"""
SELECT {_META_COLUMNS} FROM timeloom_checkpoints AS c
WHERE c.thread_id = $1
  AND ($2::text IS NULL OR c.id < $2)
  AND ($3::text IS NULL OR c.source = $3)
  AND ($4::integer IS NULL OR c.step = $4)
  AND c.metadata_json @> $5::jsonb
ORDER BY c.id DESC
LIMIT $6
"""
CHILDREN_SQL = f"""
SELECT {_META_COLUMNS} FROM timeloom_checkpoints AS c
WHERE c.parent_id = $1 ORDER BY c.id
"""
RECENT_SQL = f"""
SELECT {_META_COLUMNS} FROM timeloom_checkpoints AS c
WHERE ($1::text IS NULL OR c.id > $1) AND ($2::text IS NULL OR c.thread_id = $2)
ORDER BY c.id
LIMIT $3
"""
_THREAD_FILTER = """
WHERE ($1::text IS NULL OR starts_with(t.thread_id, $1))
  AND (strpos(coalesce($1::text, ''), '|') > 0 OR strpos(t.thread_id, '|') = 0)
  AND ($2::text IS NULL OR t.status = $2)
"""
THREADS_SQL = f"""
SELECT t.thread_id, t.status, t.head_id, t.checkpoint_count, t.created_at,
       t.updated_at, t.forked_from_thread, t.forked_from_id, t.metadata
FROM timeloom_threads AS t
{_THREAD_FILTER} AND t.metadata_json @> $3::jsonb
ORDER BY t.updated_at DESC, t.head_id DESC
LIMIT $4 OFFSET $5
"""
GET_THREAD_SQL = """
SELECT t.thread_id, t.status, t.head_id, t.checkpoint_count, t.created_at,
       t.updated_at, t.forked_from_thread, t.forked_from_id, t.metadata
FROM timeloom_threads AS t WHERE t.thread_id = $1
"""
COUNT_THREADS_SQL = f"SELECT count(*) FROM timeloom_threads AS t {_THREAD_FILTER}"

# -- investigation: headers in bulk, storage accounting --------------------------------

THREAD_HEADERS_SQL = f"""
SELECT {_META_COLUMNS}, c.values_header FROM timeloom_checkpoints AS c
WHERE c.thread_id = $1 ORDER BY c.id
"""
THREAD_LINKS_SQL = """
SELECT c.id, c.parent_id FROM timeloom_checkpoints AS c
WHERE c.thread_id = $1 ORDER BY c.id
"""
HEADERS_OF_SQL = f"""
SELECT {_META_COLUMNS}, c.values_header FROM timeloom_checkpoints AS c
WHERE c.thread_id = $1 AND c.id = ANY ($2::text[])
"""
BLOB_SIZES_SQL = (
    "SELECT hash, length(data) FROM timeloom_blobs WHERE hash = ANY ($1::bytea[])"
)
STORAGE_TOTALS_SQL = """
SELECT (SELECT count(*) FROM timeloom_threads),
       count(*),
       coalesce(sum(length(values_header)), 0),
       coalesce(sum(length(metadata) + length(writes)), 0),
       (SELECT count(*) FROM timeloom_blobs),
       (SELECT coalesce(sum(length(data)), 0) FROM timeloom_blobs),
       (SELECT coalesce(sum(length(value)), 0) FROM timeloom_writes),
       pg_database_size(current_database())
FROM timeloom_checkpoints
"""
TOP_THREADS_SQL = """
SELECT thread_id, count(*), sum(length(values_header)) AS bytes
FROM timeloom_checkpoints GROUP BY thread_id ORDER BY bytes DESC, thread_id LIMIT $1
"""
