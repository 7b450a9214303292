"""Does writing a title hold up the next answer? Time to first token of a follow-up sent the
moment a new conversation's first answer ends (when the app would start the title).

Run by hand against a running app; compare with AUTO_TITLES=false for the cost of titles:

    CHAT_RATE_LIMIT= ./start
    .venv/bin/python scripts/bench_title_delay.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx


def first_token_s(url: str, headers: dict[str, str], text: str,
                  conversation_id: int | None = None) -> tuple[int, float | None]:
    """(conversation id, seconds to the first answer text) of one streamed /api/chat."""
    body: dict[str, object] = {"messages": [{"role": "user", "content": text}], "max_tokens": 48}
    if conversation_id:
        body["conversation_id"] = conversation_id
    started, ttft = time.monotonic(), None
    with httpx.stream("POST", f"{url}/api/chat", json=body, headers=headers,
                      timeout=120) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if ttft is None and '"content": "' in line and '"content": ""' not in line:
                ttft = time.monotonic() - started
    return int(response.headers["x-conversation-id"]), ttft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--username", default="test")
    parser.add_argument("--password", default="test")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    token = httpx.post(f"{args.url}/api/auth/login", json={
        "username": args.username, "password": args.password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    follow_ups: list[float] = []
    for n in range(args.rounds):
        conv_id, _ = first_token_s(args.url, headers,
                                   f"Explain topic number {n} about gardening in two sentences.")
        _, ttft = first_token_s(args.url, headers, "And one more sentence, please.", conv_id)
        if ttft is not None:
            follow_ups.append(ttft)
    print(f"follow-up TTFT over {len(follow_ups)} rounds: mean {statistics.mean(follow_ups):.2f} s, "
          f"max {max(follow_ups):.2f} s ({', '.join(f'{t:.2f}' for t in follow_ups)})")


if __name__ == "__main__":
    main()
