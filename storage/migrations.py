"""Forward-only schema migrations. The plan's section 8 tables, adapted to DuckDB."""

from __future__ import annotations

import duckdb

from storage.transactions import transaction

# Each entry moves the schema from version i to i+1. Never edit a released entry: append.
MIGRATIONS: list[str] = [
    """
    CREATE SEQUENCE users_id_seq START 1;
    CREATE TABLE users (
        id BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
        username TEXT UNIQUE NOT NULL,
        email TEXT UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE conversations_id_seq START 1;
    CREATE TABLE conversations (
        id BIGINT PRIMARY KEY DEFAULT nextval('conversations_id_seq'),
        user_id BIGINT NOT NULL REFERENCES users(id),
        title TEXT,
        system_prompt TEXT,
        model TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE messages_id_seq START 1;
    CREATE TABLE messages (
        id BIGINT PRIMARY KEY DEFAULT nextval('messages_id_seq'),
        conv_id BIGINT NOT NULL REFERENCES conversations(id),
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        token_in INTEGER,
        token_out INTEGER,
        status TEXT NOT NULL DEFAULT 'completed'
            CHECK (status IN ('completed', 'cancelled', 'failed')),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE requests_id_seq START 1;
    CREATE TABLE requests (
        id BIGINT PRIMARY KEY DEFAULT nextval('requests_id_seq'),
        request_id TEXT NOT NULL,
        user_id BIGINT REFERENCES users(id),
        conv_id BIGINT,
        model TEXT,
        latency_ms INTEGER,
        ttft_ms INTEGER,
        input_tokens INTEGER,
        output_tokens INTEGER,
        status TEXT NOT NULL CHECK (status IN ('completed', 'cancelled', 'failed')),
        status_code INTEGER,
        error TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX requests_created_at_idx ON requests (created_at);
    """,
    # 2: a reasoning model's thinking is kept apart from its answer; titles know their origin.
    """
    ALTER TABLE messages ADD COLUMN reasoning TEXT;
    ALTER TABLE conversations ADD COLUMN title_source TEXT DEFAULT 'first_message';
    """,
    # 3: personal API keys (only a hash is kept); conversations made through /v1 are kept apart.
    """
    CREATE SEQUENCE api_keys_id_seq START 1;
    CREATE TABLE api_keys (
        id BIGINT PRIMARY KEY DEFAULT nextval('api_keys_id_seq'),
        user_id BIGINT NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_used_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
    );
    ALTER TABLE conversations ADD COLUMN source TEXT DEFAULT 'chat';
    """,
    # 4: why an answer has no text (cut off by a restart).
    """
    ALTER TABLE messages ADD COLUMN note TEXT;
    """,
    # 5: settings that stick: a default system prompt per user, and named presets.
    """
    ALTER TABLE users ADD COLUMN default_system_prompt TEXT;
    CREATE SEQUENCE presets_id_seq START 1;
    CREATE TABLE presets (
        id BIGINT PRIMARY KEY DEFAULT nextval('presets_id_seq'),
        user_id BIGINT NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        system_prompt TEXT,
        temperature DOUBLE,
        max_tokens INTEGER,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (user_id, name)
    );
    """,
    # 6: the answer being written, saved as it streams, so a crash of the app loses little.
    # No foreign key: DuckDB would refuse deleting a conversation's messages in one transaction.
    """
    CREATE TABLE answer_drafts (
        message_id BIGINT PRIMARY KEY,
        conv_id BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        user_id BIGINT NOT NULL,
        model TEXT,
        prompt_tokens INTEGER,
        content TEXT NOT NULL DEFAULT '',
        reasoning TEXT,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    # 7: accounts an admin manages, and sessions that end. DuckDB cannot add a NOT NULL column
    # to a table other tables reference, so NULL means "not disabled / not deleted / generation 0".
    # A deleted account keeps its row (usage rows point to it) and its name.
    """
    ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
    ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;
    ALTER TABLE users ADD COLUMN session_generation INTEGER;
    CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    """,
    # 8: why the engine ended an answer ("stop", "length"): a chat says when an answer was cut
    # off at the length limit. NULL for answers stored before, and for stopped or failed ones.
    """
    ALTER TABLE messages ADD COLUMN finish_reason TEXT;
    """,
]


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the file's version, each in its own transaction."""
    version = current_version(conn)
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this app ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with transaction(conn):
            conn.execute(script)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
    return len(MIGRATIONS)
