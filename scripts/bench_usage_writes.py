"""What storing a request costs: one transaction per answer against the batch writer.

Each answer writes an assistant message, updates the user message's token count, inserts a
usage row and removes its draft, as chat/recording.py does; a long answer also saves its draft
every ANSWER_CHECKPOINT_S while it streams (one UPDATE, timed on its own).
Run by hand:  .venv/bin/python scripts/bench_usage_writes.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import conversations, drafts, users
from storage.db import Database
from storage.usage import UsageRecord, insert
from storage.writer import BatchWriter, _in_transaction


def answer_write(conv_id: int, user_id: int, n: int) -> Any:
    def write(conn: Any) -> None:
        conn.execute("UPDATE messages SET token_in = 12 WHERE id = ?", [USER_MESSAGE_ID])
        conversations.add_message(conn, conv_id, "assistant", f"answer {n} " * 40,
                                  token_in=120, token_out=80)
        insert(conn, UsageRecord(request_id=f"r{n}", user_id=user_id, conv_id=conv_id, model="m",
                                 status="completed", status_code=200, latency_ms=900,
                                 ttft_ms=80, input_tokens=120, output_tokens=80))
        drafts.finish(conn, USER_MESSAGE_ID)
    return write


USER_MESSAGE_ID = 1


def setup(directory: Path) -> tuple[Database, int, int]:
    db = Database(directory / "bench.duckdb")
    user = db.call(lambda c: users.create(c, "bench", "x", "user"))
    conv = db.call(lambda c: conversations.create(c, user.id, "bench", None, "m"))
    db.call(lambda c: conversations.add_message(c, conv.id, "user", "hello"))
    db.call(lambda c: drafts.start(c, drafts.Draft(USER_MESSAGE_ID, conv.id, "r", user.id, "m")))
    return db, user.id, conv.id


async def one_transaction_each(db: Database, user_id: int, conv_id: int, count: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(db.run(lambda c, n=n: _in_transaction(c, [answer_write(conv_id, user_id, n)]))
                           for n in range(count)))
    return time.perf_counter() - start


async def batched(db: Database, user_id: int, conv_id: int, count: int) -> tuple[float, int]:
    writer = BatchWriter(db)
    writer.start()
    start = time.perf_counter()
    await asyncio.gather(*(writer.write(answer_write(conv_id, user_id, n)) for n in range(count)))
    elapsed = time.perf_counter() - start
    await writer.stop()
    return elapsed, writer.batches


async def idle(db: Database, user_id: int, conv_id: int, count: int) -> float:
    """One answer at a time: what storing costs a single request on a quiet server."""
    writer = BatchWriter(db)
    writer.start()
    start = time.perf_counter()
    for n in range(count):
        await writer.write(answer_write(conv_id, user_id, 10_000_000 + n))
    elapsed = time.perf_counter() - start
    await writer.stop()
    return elapsed / count


async def checkpoint(db: Database, conv_id: int, user_id: int, count: int) -> float:
    """One draft save of a long answer's text so far (about 2,000 characters)."""
    db.call(lambda c: drafts.start(c, drafts.Draft(USER_MESSAGE_ID, conv_id, "r", user_id, "m")))
    writer = BatchWriter(db)
    writer.start()
    start = time.perf_counter()
    for n in range(count):
        text = f"word{n} " * 300

        def save(conn: Any, text: str = text) -> None:
            drafts.update(conn, USER_MESSAGE_ID, text, "")
        await writer.write(save)
    elapsed = time.perf_counter() - start
    await writer.stop()
    return elapsed / count


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, user_id, conv_id = setup(Path(tmp))
        single = await one_transaction_each(db, user_id, conv_id, args.requests)
        together, batches = await batched(db, user_id, conv_id, args.requests)
        quiet = await idle(db, user_id, conv_id, 200)
        saving = await checkpoint(db, conv_id, user_id, 200)
        db.close()
    n = args.requests
    print(f"{n} answers stored at once (a burst of {n} concurrent requests finishing):")
    print(f"  one transaction each : {single * 1000:8.0f} ms total, {single / n * 1e6:7.0f} us per request")
    print(f"  batch writer         : {together * 1000:8.0f} ms total, {together / n * 1e6:7.0f} us per"
          f" request ({batches} transactions)")
    print(f"one answer at a time   : {quiet * 1e6:7.0f} us per request (stored after the answer"
          " has streamed, off the answer's path)")
    print(f"draft save of a long answer: {saving * 1e6:7.0f} us each (every ANSWER_CHECKPOINT_S while"
          " it streams, not awaited by the stream)")


if __name__ == "__main__":
    asyncio.run(main())
