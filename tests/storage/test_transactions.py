"""Several statements as one: committed together or not at all."""

from __future__ import annotations

import duckdb
import pytest

from chat.turn_store import rewind_and_start
from storage import drafts
from storage.migrations import migrate
from storage.transactions import transaction


def test_a_failing_statement_takes_the_earlier_ones_back() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with pytest.raises(duckdb.ConstraintException), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (2)")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_an_edit_and_its_new_draft_are_one_change() -> None:
    """Answering again rewinds the conversation and starts the new answer's draft together:
    a failure in between leaves the old answer in place."""
    conn = duckdb.connect()
    migrate(conn)
    conn.execute("INSERT INTO users (username, password_hash) VALUES ('u', 'h')")
    conn.execute("INSERT INTO conversations (user_id) VALUES (1)")
    conn.execute("INSERT INTO messages (conv_id, role, content) VALUES (1, 'user', 'q'),"
                 " (1, 'assistant', 'old answer')")
    draft = drafts.Draft(1, 1, None, 1, "m", None)  # type: ignore[arg-type]  # a draft that cannot be stored
    with pytest.raises(duckdb.ConstraintException):
        rewind_and_start(conn, draft, "edited q")
    rows = conn.execute("SELECT content FROM messages ORDER BY id").fetchall()
    assert rows == [("q",), ("old answer",)]
