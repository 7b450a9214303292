"""Refuse JSON bodies holding lone UTF-16 surrogates ("x\\ud800y") with a 400, at the edge.

Python's json accepts them (escaped, or as raw bytes: it decodes with surrogatepass), and they
then fail deep inside storage with a 500. One check for every JSON entry point: REST, /v1 and
Gradio's own queue, before any handler runs.
"""

from __future__ import annotations

import json
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

# A \uD800-\uDFFF escape: only bodies that have one (or are not strict UTF-8) are looked at closely.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
MESSAGE = "Text must be valid Unicode: lone surrogate characters (such as \\ud800) are not allowed"


def has_lone_surrogate(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass  # raw surrogate bytes, or simply not UTF-8 (the handler says so)
    else:
        if not SURROGATE_ESCAPE.search(body):
            return False
    try:
        # A pair (an emoji as \ud83d\ude00) joins into one character; a lone half cannot be encoded.
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False  # not JSON: the handler's own validation answers
    return False


class RejectLoneSurrogates:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        if b"json" not in headers.get(b"content-type", b""):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if has_lone_surrogate(body):
            await JSONResponse(error_body(MESSAGE, "invalid_request_error", "invalid_text"),
                               status_code=400)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
