"""The SQLite checkpointer's schema and statements, kept visible in one place.

``MIGRATIONS[v]`` brings a database to schema version ``v``; the versions applied are
recorded in ``timeloom_migrations``. Statements in a migration are separated by
``;`` at the end of a line (no semicolons inside statements). Never edit a released
migration: append a new one.

Values are not stored in ``checkpoints``: ``values_header`` is the small header of
:mod:`timeloom.backends.layout`, and the values' bytes live in ``blobs``, keyed by
content and shared across checkpoints and threads.
"""

from __future__ import annotations

from typing import Final

from timeloom.core.namespaces import NS_SEP

CREATE_MIGRATIONS_TABLE_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS timeloom_migrations (v INTEGER PRIMARY KEY)"
)

MIGRATIONS: Final[list[str]] = [
    # v0: the initial schema.
    """
    CREATE TABLE threads (
        thread_id TEXT PRIMARY KEY,
        head_id TEXT NOT NULL,
        status TEXT NOT NULL,
        checkpoint_count INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        forked_from_thread TEXT,
        forked_from_id TEXT,
        metadata BLOB NOT NULL
    );
    CREATE INDEX threads_by_updated ON threads (updated_at DESC, head_id DESC);
    CREATE INDEX threads_by_status ON threads (status, updated_at DESC, head_id DESC);
    CREATE TABLE checkpoints (
        checkpoint_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        parent_id TEXT,
        parent_thread_id TEXT,
        step INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        nodes TEXT NOT NULL,
        next TEXT NOT NULL,
        metadata BLOB NOT NULL,
        writes BLOB NOT NULL,
        values_header BLOB NOT NULL,
        size INTEGER NOT NULL,
        has_error INTEGER NOT NULL DEFAULT 0,
        has_interrupt INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX checkpoints_by_thread ON checkpoints (thread_id, checkpoint_id);
    CREATE INDEX checkpoints_by_parent ON checkpoints (parent_id);
    CREATE TABLE pending_writes (
        checkpoint_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        node TEXT NOT NULL,
        kind TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (checkpoint_id, seq)
    );
    CREATE TABLE blobs (
        key BLOB PRIMARY KEY,
        data BLOB NOT NULL
    )
    """,
]

LATEST_VERSION: Final = len(MIGRATIONS) - 1


def migration_statements(script: str) -> list[str]:
    """Split a migration script into statements (run one by one, in a transaction)."""
    return [s.strip() for s in script.split(";\n") if s.strip()]


TABLES_SQL: Final = "SELECT name FROM sqlite_master WHERE type = 'table'"
COLUMNS_SQL: Final = "SELECT name FROM pragma_table_info(?)"
VERSION_SQL: Final = "SELECT MAX(v) FROM timeloom_migrations"
RECORD_VERSION_SQL: Final = "INSERT INTO timeloom_migrations (v) VALUES (?)"

# -- writes ---------------------------------------------------------------------------

MOVE_HEAD_SQL: Final = """
UPDATE threads
SET head_id = ?, status = ?, checkpoint_count = checkpoint_count + 1,
    updated_at = ?, metadata = ?,
    forked_from_thread = COALESCE(forked_from_thread, ?),
    forked_from_id = COALESCE(forked_from_id, ?)
WHERE thread_id = ? AND head_id = ?
"""

INSERT_THREAD_SQL: Final = """
INSERT INTO threads (thread_id, head_id, status, checkpoint_count, created_at,
                     updated_at, forked_from_thread, forked_from_id, metadata)
VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
"""

SELECT_HEAD_SQL: Final = "SELECT head_id FROM threads WHERE thread_id = ?"

CHECKPOINT_EXISTS_SQL: Final = "SELECT 1 FROM checkpoints WHERE checkpoint_id = ?"

INSERT_CHECKPOINT_SQL: Final = """
INSERT INTO checkpoints (checkpoint_id, thread_id, parent_id, parent_thread_id, step,
                         source, created_at, nodes, next, metadata, writes,
                         values_header, size)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

INSERT_BLOB_SQL: Final = "INSERT OR IGNORE INTO blobs (key, data) VALUES (?, ?)"

SELECT_CHECKPOINT_THREAD_SQL: Final = """
SELECT thread_id, next FROM checkpoints WHERE checkpoint_id = ?
"""

NEXT_WRITE_SEQ_SQL: Final = """
SELECT COALESCE(MAX(seq) + 1, 0) FROM pending_writes WHERE checkpoint_id = ?
"""

INSERT_WRITE_SQL: Final = """
INSERT INTO pending_writes (checkpoint_id, seq, node, kind, value)
VALUES (?, ?, ?, ?, ?)
"""

SELECT_WRITES_SQL: Final = """
SELECT node, kind, value FROM pending_writes WHERE checkpoint_id = ? ORDER BY seq
"""

UPDATE_FLAGS_SQL: Final = """
UPDATE checkpoints SET has_error = ?, has_interrupt = ? WHERE checkpoint_id = ?
"""

UPDATE_STATUS_SQL: Final = """
UPDATE threads SET status = ? WHERE thread_id = ? AND head_id = ?
"""

SELECT_THREAD_HEADERS_SQL: Final = """
SELECT values_header FROM checkpoints WHERE thread_id = ?
"""

SELECT_ALL_HEADERS_SQL: Final = "SELECT values_header FROM checkpoints"

DELETE_THREAD_WRITES_SQL: Final = """
DELETE FROM pending_writes
WHERE checkpoint_id IN (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)
"""

DELETE_THREAD_CHECKPOINTS_SQL: Final = "DELETE FROM checkpoints WHERE thread_id = ?"

DELETE_THREAD_SQL: Final = "DELETE FROM threads WHERE thread_id = ?"

DELETE_BLOB_SQL: Final = "DELETE FROM blobs WHERE key = ?"

SELECT_PRUNE_CANDIDATES_SQL: Final = """
SELECT checkpoint_id, created_at, has_interrupt
FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id
"""

SELECT_THREAD_CHILDREN_SQL: Final = """
SELECT c.parent_id, c.thread_id
FROM checkpoints AS c JOIN checkpoints AS p ON c.parent_id = p.checkpoint_id
WHERE p.thread_id = ?
"""

SELECT_HEADER_SQL: Final = (
    "SELECT values_header FROM checkpoints WHERE checkpoint_id = ?"
)

DELETE_WRITES_SQL: Final = "DELETE FROM pending_writes WHERE checkpoint_id = ?"

DELETE_CHECKPOINT_SQL: Final = "DELETE FROM checkpoints WHERE checkpoint_id = ?"

DECREMENT_COUNT_SQL: Final = """
UPDATE threads SET checkpoint_count = checkpoint_count - ? WHERE thread_id = ?
"""

# -- reads ----------------------------------------------------------------------------

META_COLUMNS: Final = """
checkpoint_id, thread_id, parent_id, parent_thread_id, step, source, created_at,
nodes, next, metadata, has_error, has_interrupt, size
"""

SELECT_CHECKPOINT_SQL: Final = f"""
SELECT {META_COLUMNS}, writes, values_header
FROM checkpoints WHERE checkpoint_id = ?
"""

SELECT_HISTORY_SQL: Final = f"""
SELECT {META_COLUMNS} FROM checkpoints
WHERE thread_id = ? AND checkpoint_id < ?
ORDER BY checkpoint_id DESC LIMIT ?
"""

SELECT_CHILDREN_SQL: Final = f"""
SELECT {META_COLUMNS} FROM checkpoints WHERE parent_id = ? ORDER BY checkpoint_id
"""

SELECT_RECENT_SQL: Final = f"""
SELECT {META_COLUMNS} FROM checkpoints
WHERE checkpoint_id > ? ORDER BY checkpoint_id LIMIT ?
"""

SELECT_RECENT_IN_THREAD_SQL: Final = f"""
SELECT {META_COLUMNS} FROM checkpoints
WHERE thread_id = ? AND checkpoint_id > ? ORDER BY checkpoint_id LIMIT ?
"""

THREAD_COLUMNS: Final = """
thread_id, status, head_id, checkpoint_count, created_at, updated_at,
forked_from_thread, forked_from_id, metadata
"""

SELECT_THREAD_SQL: Final = f"SELECT {THREAD_COLUMNS} FROM threads WHERE thread_id = ?"


def threads_where(
    search: str | None, status: str | None
) -> tuple[str, list[str | int]]:
    """Build the WHERE clause and parameters shared by the thread list and count.

    A prefix search is a range on the primary key, ``[prefix, successor)``, which is
    exact and case-sensitive (unlike ``LIKE``) and uses the index.
    """
    clauses: list[str] = []
    params: list[str | int] = []
    if search:
        clauses.append("thread_id >= ?")
        params.append(search)
        successor = ord(search[-1]) + 1
        if 0xD800 <= successor <= 0xDFFF:  # surrogates cannot be stored: skip them
            successor = 0xE000
        if successor <= 0x10FFFF:
            clauses.append("thread_id < ?")
            params.append(search[:-1] + chr(successor))
    if not (search and NS_SEP in search):  # subgraph timelines only when named
        clauses.append(f"instr(thread_id, '{NS_SEP}') = 0")
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return where, params


def select_threads_sql(where: str) -> str:
    """The page query of :meth:`threads`, most recently updated first."""
    return (
        f"SELECT {THREAD_COLUMNS} FROM threads {where} "
        "ORDER BY updated_at DESC, head_id DESC LIMIT ? OFFSET ?"
    )


def select_thread_ids_sql(where: str) -> str:
    """The ids of the threads (timelines) matching ``where``."""
    return f"SELECT thread_id FROM threads {where}"


def count_threads_sql(where: str) -> str:
    """The count query of :meth:`count_threads`."""
    return f"SELECT COUNT(*) FROM threads {where}"


def select_blobs_sql(count: int) -> str:
    """Fetch ``count`` blobs by key."""
    return f"SELECT key, data FROM blobs WHERE key IN ({', '.join('?' * count)})"


# -- investigation: headers in bulk, storage accounting --------------------------------

SELECT_THREAD_ID_HEADERS_SQL: Final = f"""
SELECT {META_COLUMNS}, values_header FROM checkpoints
WHERE thread_id = ? ORDER BY checkpoint_id
"""

SELECT_THREAD_LINKS_SQL: Final = """
SELECT checkpoint_id, parent_id FROM checkpoints
WHERE thread_id = ? ORDER BY checkpoint_id
"""


def select_headers_of_sql(count: int) -> str:
    """``count`` checkpoints of a thread by id, with their values headers."""
    marks = ", ".join("?" * count)
    return (
        f"SELECT {META_COLUMNS}, values_header FROM checkpoints "
        f"WHERE thread_id = ? AND checkpoint_id IN ({marks})"
    )


SELECT_CHECKPOINT_TOTALS_SQL: Final = """
SELECT COUNT(*), COALESCE(SUM(LENGTH(values_header)), 0),
       COALESCE(SUM(LENGTH(metadata) + LENGTH(writes)), 0)
FROM checkpoints
"""

SELECT_BLOB_TOTALS_SQL: Final = (
    "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM blobs"
)

SELECT_WRITE_TOTALS_SQL: Final = (
    "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM pending_writes"
)

SELECT_THREAD_COUNT_SQL: Final = "SELECT COUNT(*) FROM threads"

SELECT_TOP_THREADS_SQL: Final = """
SELECT thread_id, COUNT(*), SUM(LENGTH(values_header)) AS bytes
FROM checkpoints GROUP BY thread_id ORDER BY bytes DESC, thread_id LIMIT ?
"""

SELECT_FILE_BYTES_SQL: Final = (
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
)


def select_blob_sizes_sql(count: int) -> str:
    """The stored size of ``count`` blobs by key."""
    return (
        f"SELECT key, LENGTH(data) FROM blobs WHERE key IN ({', '.join('?' * count)})"
    )
