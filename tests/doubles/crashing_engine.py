"""TEST DOUBLE: an engine process that dies by SIGSEGV, as llama.cpp's AMX kernels do on some
cloud VMs (llama.cpp issue 20824): /v1/models answers, and then a chat request kills it.

    python crashing_engine.py PORT first-token   # dies on its first chat request of any kind
    python crashing_engine.py PORT streams       # answers the readiness request, dies on streams

Run as the managed engine's child process (so the app sees a real signal) or as an external
engine. Everything else is tested against the real llama.cpp engine.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_WORDS = "ggml_compute_forward_mul_mat: AMX tile kernel (test double) faulted"


class Handler(BaseHTTPRequestHandler):
    crash_on = "first-token"

    def _send(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.crash_on == "streams" and not body.get("stream"):
            self._send({"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                        "choices": [{"index": 0, "finish_reason": "length",
                                     "message": {"role": "assistant", "content": "Hi"}}]})
            return
        print(LAST_WORDS, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)

    def log_message(self, format: str, *args: object) -> None:
        print(format % args, flush=True)


def main() -> None:
    port, Handler.crash_on = int(sys.argv[1]), sys.argv[2]
    print(f"crashing engine double on port {port}, dies on {Handler.crash_on}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
